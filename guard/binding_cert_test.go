package guard_test

// Certificate-bound tokens (RFC 8705): over TLS, without it, and with the
// certificate in a header from a trusted proxy only.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/token"
)

// clientCert is a self-signed client certificate (RFC 8705 §2.2 allows
// them; the binding is to the certificate, not to a CA).
func clientCert(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func boundTo(cert tls.Certificate) *token.Confirmation {
	return &token.Confirmation{X5TS256: token.CertificateThumbprint(cert.Certificate[0])}
}

// tlsServer serves h over TLS, asking for (not verifying) client
// certificates; client returns an HTTP client that presents cert (none
// when cert is nil).
func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, func(cert *tls.Certificate) *http.Client) {
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, func(cert *tls.Certificate) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		if cert != nil {
			tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
		}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
}

func tlsGet(t *testing.T, c *http.Client, url, auth string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", auth)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestCertificateBoundOverTLS(t *testing.T) {
	f := newFixture(t)
	alice, mallory := clientCert(t, "alice"), clientCert(t, "mallory")
	srv, client := tlsServer(t, f.g.Middleware(okHandler))
	raw := f.iss.Token(token.Claims{Confirmation: boundTo(alice)})

	if resp := tlsGet(t, client(&alice), srv.URL, "Bearer "+raw); resp.StatusCode != http.StatusOK {
		t.Fatalf("the holder of the certificate: status %d", resp.StatusCode)
	}
	// The same token again, now in the verifier's cache: the cache vouches
	// for the token, never for the connection.
	for name, c := range map[string]*http.Client{"another certificate": client(&mallory), "no certificate": client(nil)} {
		resp := tlsGet(t, c, srv.URL, "Bearer "+raw)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: status %d, challenge %q", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	}
	if resp := tlsGet(t, client(&alice), srv.URL, "Bearer "+raw); resp.StatusCode != http.StatusOK {
		t.Fatalf("the holder again: status %d", resp.StatusCode)
	}
	// A bearer token needs no certificate.
	if resp := tlsGet(t, client(nil), srv.URL, "Bearer "+f.iss.Token(token.Claims{})); resp.StatusCode != http.StatusOK {
		t.Fatalf("bearer token: status %d", resp.StatusCode)
	}
}

func TestCertificateBoundWithoutTLS(t *testing.T) {
	f := newFixture(t)
	raw := f.iss.Token(token.Claims{Confirmation: boundTo(clientCert(t, "alice"))})
	rec := serveReq(f.g.Middleware(okHandler), bearerReq(raw, "192.0.2.7:4000", nil))
	assertRefused(t, rec, http.StatusUnauthorized, `Bearer realm="orders", error="invalid_token"`)
}

func bearerReq(raw, remote string, h http.Header) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://orders.example/api/orders/7", nil)
	r.RemoteAddr = remote
	for k, v := range h {
		r.Header[k] = v
	}
	r.Header.Set("Authorization", "Bearer "+raw)
	return r
}

func escapedPEM(cert tls.Certificate) string {
	return url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})))
}

func TestCertificateHeaderFromTrustedProxyOnly(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	alice, mallory := clientCert(t, "alice"), clientCert(t, "mallory")
	sum := sha256.Sum256(alice.Certificate[0])
	formats := []struct {
		name   string
		format guard.CertificateFormat
		header string
		alice  string
	}{
		{"envoy cert", guard.CertificateXFCC, "X-Forwarded-Client-Cert", `By=spiffe://example/gw;Cert="` + escapedPEM(alice) + `";Subject="CN=alice, O=\"x\""`},
		{"envoy hash", guard.CertificateXFCC, "X-Forwarded-Client-Cert", "Hash=" + hex.EncodeToString(sum[:]) + ";URI=spiffe://example/alice"},
		{"envoy appended", guard.CertificateXFCC, "X-Forwarded-Client-Cert", "Hash=" + strings.Repeat("00", 32) + ",Hash=" + hex.EncodeToString(sum[:])},
		{"nginx", guard.CertificateEscapedPEM, "X-Client-Cert", escapedPEM(alice)},
		{"rfc 9440", guard.CertificateRFC9440, "Client-Cert", ":" + base64.StdEncoding.EncodeToString(alice.Certificate[0]) + ":"},
	}
	for _, tc := range formats {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, guard.WithClientCertificateHeader(tc.header, tc.format, proxy))
			h := f.g.Middleware(okHandler)
			raw := f.iss.Token(token.Claims{Confirmation: boundTo(alice)})
			withCert := http.Header{http.CanonicalHeaderKey(tc.header): {tc.alice}}
			if rec := serveReq(h, bearerReq(raw, "10.1.2.3:5000", withCert)); rec.Code != http.StatusOK {
				t.Fatalf("from the trusted proxy: status %d: %s", rec.Code, rec.Body)
			}
			// The same header from a client that is no proxy: ignored.
			assertRefused(t, serveReq(h, bearerReq(raw, "192.0.2.7:5000", withCert)), http.StatusUnauthorized, `Bearer realm="orders", error="invalid_token"`)
			// The trusted proxy forwarding no certificate: its own TLS
			// certificate is not its client's.
			r := bearerReq(raw, "10.1.2.3:5000", nil)
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{mustParse(t, alice)}}
			assertRefused(t, serveReq(h, r), http.StatusUnauthorized, `Bearer realm="orders", error="invalid_token"`)
			// Another certificate through the proxy.
			other := bearerReq(f.iss.Token(token.Claims{Confirmation: boundTo(mallory)}), "10.1.2.3:5000", withCert)
			assertRefused(t, serveReq(h, other), http.StatusUnauthorized, `Bearer realm="orders", error="invalid_token"`)
			// Two header fields.
			two := bearerReq(raw, "10.1.2.3:5000", http.Header{http.CanonicalHeaderKey(tc.header): {tc.alice, tc.alice}})
			assertRefused(t, serveReq(h, two), http.StatusUnauthorized, `Bearer realm="orders", error="invalid_token"`)
		})
	}
}

func mustParse(t *testing.T, c tls.Certificate) *x509.Certificate {
	t.Helper()
	x, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestWithClientCertificateHeaderOptions(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for name, opt := range map[string]guard.Option{
		"no name":       guard.WithClientCertificateHeader("", guard.CertificateXFCC, proxy),
		"authorization": guard.WithClientCertificateHeader("authorization", guard.CertificateXFCC, proxy),
		"bad format":    guard.WithClientCertificateHeader("X-Cert", "der", proxy),
		"no proxies":    guard.WithClientCertificateHeader("X-Cert", guard.CertificateEscapedPEM, nil),
	} {
		if _, err := guard.New(newFixture(t).iss.Verifier(), opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
