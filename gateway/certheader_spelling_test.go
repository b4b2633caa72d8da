package gateway

import (
	"net/http"
	"strings"
	"testing"
)

// Adversarial review of sender-constrained tokens at the gateway (issue
// 15): each test is an attack and asserts the refusal.

// TestReviewCertificateHeaderSpellings: a client that is no trusted proxy
// sends a client-certificate header spelt with underscores, or in another
// case. Many upstream stacks (CGI, PHP, WSGI, Rack: HTTP_X_CLIENT_CERT)
// fold '_' and '-' into one name, so such a header must not reach the
// upstream any more than X-Client-Cert itself.
func TestReviewCertificateHeaderSpellings(t *testing.T) {
	u := newUpstream(t, "u", nil)
	for name, yml := range map[string]string{
		"without client_certificate": `
trusted_proxies: ["10.0.0.0/8"]
routes:
  - {name: open, path: /, upstreams: ["{{U}}"], auth: none}
`,
		"with client_certificate": `
trusted_proxies: ["10.0.0.0/8"]
client_certificate: {header: X-Client-Cert, format: pem, trusted_proxies: ["10.0.0.0/8"]}
routes:
  - {name: open, path: /, upstreams: ["{{U}}"], auth: none}
`,
	} {
		t.Run(name, func(t *testing.T) {
			gw := startGW(t, yml, map[string]string{"U": u.URL})
			hdr := map[string]string{
				"X_Forwarded_Client_Cert": "Hash=00", "X-Forwarded-Client_Cert": "Hash=00", "Client_Cert": ":AA==:",
				"X_Client_Cert": "x", "X_SSL_Client_Cert": "x", "Ssl_Client_Cert": "x",
			}
			e := readEcho(t, gw.do(t, "GET", "/", hdr, nil))
			for k := range e.Header {
				n := http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))
				for _, c := range certHeaders {
					if n == c {
						t.Errorf("%s reached the upstream from an untrusted peer (as %s)", k, c)
					}
				}
			}
		})
	}
}
