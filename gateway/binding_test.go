package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/redistest"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// Sender-constrained tokens through the gateway: each theft refused with
// the guard's answer, what reaches the upstream, the client-certificate
// header of untrusted peers removed.

const dpopGatewayYAML = `
dpop: {external_url: "https://api.example"}
issuers:
  - name: main
    issuer: {{ISS}}
    audiences: [gateway]
routes:
  - name: relay
    path: /relay
    upstreams: ["{{U}}"]
    auth: jwt
  - name: strip
    path: /strip
    upstreams: ["{{U}}"]
    auth: jwt
    downstream: strip
  - name: bound
    path: /bound
    upstreams: ["{{U}}"]
    auth: jwt
    sender_constraint: dpop
`

func dpopHeaders(raw, proof string) map[string]string {
	h := map[string]string{"Authorization": "DPoP " + raw}
	if proof != "" {
		h["DPoP"] = proof
	}
	return h
}

func TestGatewayDPoP(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startGW(t, dpopGatewayYAML, map[string]string{"ISS": iss.URL, "U": u.URL})
	s, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	raw := iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})
	proof := func(path string) string {
		p, err := s.Proof("GET", "https://api.example"+path, raw, "")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// relay: the upstream gets the request as the client sent it.
	first := proof("/relay/x")
	e := readEcho(t, gw.do(t, "GET", "/relay/x?q=1", dpopHeaders(raw, first), nil))
	if e.Header.Get("Authorization") != "DPoP "+raw || e.Header.Get("DPoP") != first {
		t.Fatalf("relay: upstream got Authorization %q and DPoP %q", e.Header.Get("Authorization"), e.Header.Get("DPoP"))
	}
	// strip: neither the token nor its proof.
	e = readEcho(t, gw.do(t, "GET", "/strip/x", dpopHeaders(raw, proof("/strip/x")), nil))
	if len(e.Header.Values("Authorization"))+len(e.Header.Values("DPoP")) != 0 {
		t.Fatalf("strip: upstream got %v", e.Header)
	}
	// sender_constraint: dpop takes the DPoP-bound token.
	readEcho(t, gw.do(t, "GET", "/bound", dpopHeaders(raw, proof("/bound")), nil))

	bearerTok := iss.Token(token.Claims{})
	for name, tc := range map[string]struct {
		path      string
		hdr       map[string]string
		typ       string
		challenge string
	}{
		"replayed proof":           {"/relay/x", dpopHeaders(raw, first), guard.TypeInvalidDPoPProof, `DPoP realm="gateway", error="invalid_dpop_proof"`},
		"cached token, no proof":   {"/relay/x", dpopHeaders(raw, ""), guard.TypeInvalidDPoPProof, `DPoP realm="gateway", error="invalid_dpop_proof"`},
		"proof for another route":  {"/strip/x", dpopHeaders(raw, proof("/relay/x")), guard.TypeInvalidDPoPProof, `DPoP realm="gateway", error="invalid_dpop_proof"`},
		"DPoP-bound as Bearer":     {"/relay/x", bearer(raw), "https://gatehouse.dev/problems/invalid-token", `Bearer realm="gateway", error="invalid_token"`},
		"bearer on a DPoP route":   {"/bound", bearer(bearerTok), "https://gatehouse.dev/problems/invalid-token", `Bearer realm="gateway", error="invalid_token"`},
		"bearer as DPoP":           {"/relay/x", dpopHeaders(bearerTok, proof("/relay/x")), "https://gatehouse.dev/problems/invalid-token", `DPoP realm="gateway", error="invalid_token"`},
		"proof for the inside URL": {"/relay/x", dpopHeaders(raw, mustProof(t, s, gw.srv.URL+"/relay/x", raw)), guard.TypeInvalidDPoPProof, `DPoP realm="gateway", error="invalid_dpop_proof"`},
	} {
		t.Run(name, func(t *testing.T) {
			resp := gw.do(t, "GET", tc.path, tc.hdr, nil)
			problemOf(t, resp, 401, tc.typ)
			chs := resp.Header.Values("WWW-Authenticate")
			if len(chs) != 2 || !strings.HasPrefix(chs[0], tc.challenge) {
				t.Fatalf("challenges %q, want first %q", chs, tc.challenge)
			}
		})
	}
	// Bearer tokens still pass where no constraint is set.
	readEcho(t, gw.do(t, "GET", "/relay/x", bearer(bearerTok), nil))
}

func mustProof(t *testing.T, s *dpop.Signer, u, raw string) string {
	t.Helper()
	p, err := s.Proof("GET", u, raw, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGatewayDPoPReplayAcrossInstances: two gateways on one Redis refuse
// a proof that the other accepted.
func TestGatewayDPoPReplayAcrossInstances(t *testing.T) {
	prefix := redistest.Prefix(t)
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	yml := "ratelimit: {backend: redis, prefix: \"{{P}}\"}\n" + strings.Replace(dpopGatewayYAML, `dpop: {external_url: "https://api.example"}`, `dpop: {external_url: "https://api.example", replay: redis}`, 1)
	vars := map[string]string{"ISS": iss.URL, "U": u.URL, "P": prefix}
	a := startGW(t, yml, vars, func(o *Options) { o.Redis = redistest.Client(t, "gw-a") })
	b := startGW(t, yml, vars, func(o *Options) { o.Redis = redistest.Client(t, "gw-b") })
	s, _ := dpop.GenerateSigner()
	raw := iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})
	p := mustProof(t, s, "https://api.example/relay", raw)
	readEcho(t, a.do(t, "GET", "/relay", dpopHeaders(raw, p), nil))
	problemOf(t, b.do(t, "GET", "/relay", dpopHeaders(raw, p), nil), 401, guard.TypeInvalidDPoPProof)
}

// testCertDER is a self-signed certificate's DER.
func testCertDER(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestGatewayClientCertificateHeader(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	der := testCertDER(t, "alice")
	escaped := url.PathEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	raw := iss.Token(token.Claims{Confirmation: &token.Confirmation{X5TS256: token.CertificateThumbprint(der)}})
	yml := `
client_certificate: {header: X-Client-Cert, format: pem, trusted_proxies: ["{{PROXY}}"]}
issuers:
  - name: main
    issuer: {{ISS}}
    audiences: [gateway]
routes:
  - name: api
    path: /api
    upstreams: ["{{U}}"]
    auth: jwt
    sender_constraint: certificate
  - name: open
    path: /open
    upstreams: ["{{U}}"]
    auth: none
`
	hdr := map[string]string{"Authorization": "Bearer " + raw, "X-Client-Cert": escaped}

	// The test client is on 127.0.0.1: a trusted proxy here.
	trusted := startGW(t, yml, map[string]string{"ISS": iss.URL, "U": u.URL, "PROXY": "127.0.0.0/8"})
	if e := readEcho(t, trusted.do(t, "GET", "/api", hdr, nil)); e.Header.Get("X-Client-Cert") != escaped {
		t.Fatalf("from the trusted proxy the header passes upstream: %q", e.Header.Get("X-Client-Cert"))
	}
	problemOf(t, trusted.do(t, "GET", "/api", bearer(raw), nil), 401, "https://gatehouse.dev/problems/invalid-token")
	problemOf(t, trusted.do(t, "GET", "/api", bearer(iss.Token(token.Claims{})), nil), 401, "https://gatehouse.dev/problems/invalid-token")

	// Not a trusted proxy: the header is ignored, and removed before any
	// upstream sees it.
	untrusted := startGW(t, yml, map[string]string{"ISS": iss.URL, "U": u.URL, "PROXY": "10.0.0.0/8"})
	resp := untrusted.do(t, "GET", "/api", hdr, nil)
	problemOf(t, resp, 401, "https://gatehouse.dev/problems/invalid-token")
	if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="invalid_token"`) {
		t.Fatalf("challenge %q", ch)
	}
	if e := readEcho(t, untrusted.do(t, "GET", "/open", map[string]string{"X-Client-Cert": escaped}, nil)); len(e.Header.Values("X-Client-Cert")) != 0 {
		t.Fatalf("the header of an untrusted peer reached the upstream")
	}
}

func TestBindingConfigErrors(t *testing.T) {
	route := "  - name: r\n    path: /\n    upstreams: [\"http://u\"]\n    auth: jwt\n"
	issuers := "issuers:\n  - {name: m, issuer: \"https://iss.example\", audiences: [a], jwks_file: x}\n"
	tests := []struct {
		name, yml, want string
	}{
		{"header", "client_certificate: {header: Authorization, format: pem, trusted_proxies: [10.0.0.1]}\n" + issuers + "routes:\n" + route, "gateway.yaml:1: client_certificate.header:"},
		{"format", "client_certificate: {header: X-Cert, format: der, trusted_proxies: [10.0.0.1]}\n" + issuers + "routes:\n" + route, `gateway.yaml:1: client_certificate.format: "der": use xfcc`},
		{"no proxies", "client_certificate: {header: X-Cert, format: xfcc}\n" + issuers + "routes:\n" + route, "gateway.yaml:1: client_certificate.trusted_proxies: name the proxies"},
		{"bad proxy", "client_certificate:\n  header: X-Cert\n  format: xfcc\n  trusted_proxies: [nope]\n" + issuers + "routes:\n" + route, `gateway.yaml:4: client_certificate.trusted_proxies[0]: "nope" is not an IP address`},
		{"replay", "dpop: {replay: disk}\n" + issuers + "routes:\n" + route, `gateway.yaml:1: dpop.replay: "disk": use memory or redis`},
		{"redis without redis", "dpop: {replay: redis}\n" + issuers + "routes:\n" + route, "gateway.yaml:1: dpop.replay: redis uses the gateway's Redis"},
		{"window", "dpop: {window: 1h}\n" + issuers + "routes:\n" + route, "gateway.yaml:1: dpop.window: must be between 0"},
		{"external url", "dpop: {external_url: \"api.example\"}\n" + issuers + "routes:\n" + route, "gateway.yaml:1: dpop.external_url:"},
		{"symmetric alg", "dpop: {algorithms: [HS256]}\n" + issuers + "routes:\n" + route, `gateway.yaml:1: dpop.algorithms: "HS256" is not an asymmetric`},
		{"constraint without dpop", issuers + "routes:\n" + route + "    sender_constraint: dpop\n", "gateway.yaml:8: routes[0].sender_constraint: DPoP proofs are checked only with a gateway.dpop section"},
		{"constraint without certificates", issuers + "routes:\n" + route + "    sender_constraint: certificate\n", "gateway.yaml:8: routes[0].sender_constraint: the gateway sees no client certificate"},
		{"constraint unknown", "dpop: {}\n" + issuers + "routes:\n" + route + "    sender_constraint: mtls\n", `gateway.yaml:9: routes[0].sender_constraint: "mtls": use any, certificate or dpop`},
		{"constraint without jwt", "dpop: {}\nroutes:\n  - {name: r, path: /, upstreams: [\"http://u\"], auth: none, sender_constraint: any}\n", "routes[0].sender_constraint: needs auth: jwt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("gateway.yaml", []byte(tc.yml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
		})
	}
	ok := "dpop: {replay: memory, window: 2m, external_url: \"https://api.example\", algorithms: [ES256]}\n" +
		"client_certificate: {header: X-Forwarded-Client-Cert, format: xfcc, trusted_proxies: [10.0.0.0/8]}\n" +
		issuers + "routes:\n" + route + "    sender_constraint: any\n"
	if _, err := ParseConfig("gateway.yaml", []byte(ok)); err != nil {
		t.Fatalf("a valid configuration: %v", err)
	}
}

// TestGatewayCertificateBoundOverTLS: with tls.request_client_certificate
// the gateway asks for a certificate and takes the leaf of the connection.
// The token is refused first from another certificate (which the refusal
// cache must not keep), then accepted from its holder.
func TestGatewayCertificateBoundOverTLS(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "gateway")
	aliceFile, aliceKey := filepath.Join(dir, "alice.pem"), filepath.Join(dir, "alice-key.pem")
	writeCert(t, aliceFile, aliceKey, "alice")
	malloryFile, malloryKey := filepath.Join(dir, "mallory.pem"), filepath.Join(dir, "mallory-key.pem")
	writeCert(t, malloryFile, malloryKey, "mallory")
	alice, err := tls.LoadX509KeyPair(aliceFile, aliceKey)
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := tls.LoadX509KeyPair(malloryFile, malloryKey)
	if err != nil {
		t.Fatal(err)
	}
	gw := startGW(t, `
tls: {cert_file: "{{CERT}}", key_file: "{{KEY}}", request_client_certificate: true}
issuers:
  - name: main
    issuer: {{ISS}}
    audiences: [gateway]
routes:
  - {name: api, path: /, upstreams: ["{{U}}"], auth: jwt, sender_constraint: certificate}
`, map[string]string{"ISS": iss.URL, "U": u.URL, "CERT": certFile, "KEY": keyFile})
	raw := iss.Token(token.Claims{Confirmation: &token.Confirmation{X5TS256: token.CertificateThumbprint(alice.Certificate[0])}})
	get := func(cert tls.Certificate) int {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}}}}
		defer client.CloseIdleConnections()
		req, _ := http.NewRequest("GET", gw.srv.URL+"/x", nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(mallory); got != http.StatusUnauthorized {
		t.Fatalf("another certificate: %d", got)
	}
	if got := get(alice); got != http.StatusOK {
		t.Fatalf("the holder after a refusal: %d", got)
	}
}

// TestGatewayStripsCertificateHeaders: a client that is no proxy never
// gets a client-certificate header to an upstream, whatever its name,
// even where the gateway reads none itself; a trusted proxy's pass.
func TestGatewayStripsCertificateHeaders(t *testing.T) {
	u := newUpstream(t, "u", nil)
	yml := `
trusted_proxies: ["{{PROXY}}"]
routes:
  - {name: open, path: /, upstreams: ["{{U}}"], auth: none}
`
	hdr := map[string]string{"X-Forwarded-Client-Cert": "Hash=00", "Client-Cert": ":AA==:", "X-SSL-Client-Cert": "x", "X-Other": "kept"}
	for proxy, pass := range map[string]bool{"10.0.0.0/8": false, "127.0.0.0/8": true} {
		gw := startGW(t, yml, map[string]string{"U": u.URL, "PROXY": proxy})
		e := readEcho(t, gw.do(t, "GET", "/", hdr, nil))
		for _, name := range []string{"X-Forwarded-Client-Cert", "Client-Cert", "X-Ssl-Client-Cert"} {
			if got := len(e.Header.Values(name)) > 0; got != pass {
				t.Errorf("trusted proxies %s: %s upstream: %v, want %v", proxy, name, got, pass)
			}
		}
		if e.Header.Get("X-Other") != "kept" {
			t.Errorf("another header was removed")
		}
	}
}
