package guard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/token"
)

// Each theft of a sender-constrained token, tried and refused: 401, the
// error code, the WWW-Authenticate challenge.

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })

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

func serveReq(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// assertRefused checks the status and that the first challenge starts
// with challenge.
func assertRefused(t *testing.T, rec *httptest.ResponseRecorder, status int, challenge string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, challenge) {
		t.Fatalf("challenge %q, want it to start with %q", got, challenge)
	}
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

// dpopFixture is a guard that takes DPoP proofs at https://orders.example.
type dpopFixture struct {
	*fixture
	h      http.Handler
	key    *ecdsa.PrivateKey
	signer *dpop.Signer
	raw    string // bound to signer
}

const dpopURL = "https://orders.example/api/orders/7"

func newDPoPFixture(t *testing.T, vopts []dpop.Option, opts ...guard.DPoPOption) *dpopFixture {
	t.Helper()
	v, err := dpop.NewVerifier(vopts...)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, guard.WithDPoP(v, append([]guard.DPoPOption{guard.ExternalURL("https://orders.example")}, opts...)...))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dpop.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	raw := f.iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})
	return &dpopFixture{fixture: f, h: f.g.Middleware(okHandler), key: key, signer: s, raw: raw}
}

func (d *dpopFixture) proof(t *testing.T, method, u, tok string) string {
	t.Helper()
	p, err := d.signer.Proof(method, u, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dpopReq is a request to the guard (behind a TLS-terminating proxy: plain
// HTTP to the guard, https://orders.example to the client).
func dpopReq(method, scheme, raw string, proofs ...string) *http.Request {
	r := httptest.NewRequest(method, "http://10.0.0.5:8080/api/orders/7?page=2", nil)
	r.Header.Set("Authorization", scheme+" "+raw)
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

// symmetricProof signs a proof with HS256 (key: the JWK's x) or none.
func symmetricProof(t *testing.T, d *dpopFixture, alg string) string {
	t.Helper()
	enc := base64.RawURLEncoding
	jwk := map[string]string{"kty": "EC", "crv": "P-256", "x": enc.EncodeToString(d.key.X.FillBytes(make([]byte, 32))), "y": enc.EncodeToString(d.key.Y.FillBytes(make([]byte, 32)))}
	h, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": alg, "jwk": jwk})
	p, _ := json.Marshal(map[string]any{"jti": rand.Text(), "htm": "GET", "htu": dpopURL, "iat": time.Now().Unix(), "ath": dpop.ATH(d.raw)})
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	if alg == "none" {
		return input + "."
	}
	mac := hmac.New(sha256.New, []byte(jwk["x"]))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

const (
	dpopProofChallenge = `DPoP realm="orders", error="invalid_dpop_proof"`
	dpopTokenChallenge = `DPoP realm="orders", error="invalid_token"`
	bearerChallenge    = `Bearer realm="orders", error="invalid_token"`
)

func TestDPoPTheftsRefused(t *testing.T) {
	d := newDPoPFixture(t, nil)
	good := d.proof(t, "GET", dpopURL, d.raw)
	if rec := serveReq(d.h, dpopReq("GET", "DPoP", d.raw, good)); rec.Code != http.StatusOK {
		t.Fatalf("a good proof: status %d: %s", rec.Code, rec.Body)
	}
	other, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	otherProof, _ := other.Proof("GET", dpopURL, d.raw, "")
	tooOld, _ := d.signer.ProofAt("GET", dpopURL, d.raw, "", time.Now().Add(-10*time.Minute))
	bearer := d.iss.Token(token.Claims{})
	expired := d.iss.Expired(token.Claims{Confirmation: &token.Confirmation{JKT: d.signer.JKT()}})
	cases := []struct {
		name      string
		req       *http.Request
		challenge string
	}{
		{"as Bearer", dpopReq("GET", "Bearer", d.raw, d.proof(t, "GET", dpopURL, d.raw)), bearerChallenge},
		{"as Bearer without proof", dpopReq("GET", "Bearer", d.raw), bearerChallenge},
		{"no proof", dpopReq("GET", "DPoP", d.raw), dpopProofChallenge},
		{"two proofs", dpopReq("GET", "DPoP", d.raw, d.proof(t, "GET", dpopURL, d.raw), d.proof(t, "GET", dpopURL, d.raw)), dpopProofChallenge},
		{"replayed proof", dpopReq("GET", "DPoP", d.raw, good), dpopProofChallenge},
		{"another method", dpopReq("DELETE", "DPoP", d.raw, d.proof(t, "GET", dpopURL, d.raw)), dpopProofChallenge},
		{"another URL", dpopReq("GET", "DPoP", d.raw, d.proof(t, "GET", "https://orders.example/api/orders/8", d.raw)), dpopProofChallenge},
		{"the internal URL", dpopReq("GET", "DPoP", d.raw, d.proof(t, "GET", "http://10.0.0.5:8080/api/orders/7", d.raw)), dpopProofChallenge},
		{"too old", dpopReq("GET", "DPoP", d.raw, tooOld), dpopProofChallenge},
		{"ath of another token", dpopReq("GET", "DPoP", d.raw, d.proof(t, "GET", dpopURL, bearer)), dpopProofChallenge},
		{"another key", dpopReq("GET", "DPoP", d.raw, otherProof), dpopProofChallenge},
		{"HS256", dpopReq("GET", "DPoP", d.raw, symmetricProof(t, d, "HS256")), dpopProofChallenge},
		{"none", dpopReq("GET", "DPoP", d.raw, symmetricProof(t, d, "none")), dpopProofChallenge},
		{"bearer token with the DPoP scheme", dpopReq("GET", "DPoP", bearer, d.proof(t, "GET", dpopURL, bearer)), dpopTokenChallenge},
		{"expired token", dpopReq("GET", "DPoP", expired, d.proof(t, "GET", dpopURL, expired)), dpopTokenChallenge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveReq(d.h, tc.req)
			assertRefused(t, rec, http.StatusUnauthorized, tc.challenge)
			chs := rec.Header().Values("WWW-Authenticate")
			if len(chs) != 2 || !strings.Contains(strings.Join(chs, "\n"), `algs="ES256 `) {
				t.Errorf("challenges %q: want Bearer and DPoP with algs", chs)
			}
			if strings.Contains(rec.Body.String(), d.raw) || strings.Contains(d.log.String(), d.raw) {
				t.Error("the token is echoed")
			}
		})
	}
	// The token of the good request, now cached by the verifier, without
	// its proof: refused.
	assertRefused(t, serveReq(d.h, dpopReq("GET", "DPoP", d.raw)), http.StatusUnauthorized, dpopProofChallenge)
	// A bearer token still works as Bearer beside DPoP.
	if rec := serveReq(d.h, dpopReq("GET", "Bearer", bearer)); rec.Code != http.StatusOK {
		t.Fatalf("bearer: status %d", rec.Code)
	}
	// No token: both challenges, no error.
	r := httptest.NewRequest("GET", "/api/orders/7", nil)
	rec := serveReq(d.h, r)
	if got := rec.Header().Values("WWW-Authenticate"); rec.Code != 401 || len(got) != 2 || got[0] != `Bearer realm="orders"` || !strings.HasPrefix(got[1], `DPoP realm="orders", algs="ES256`) {
		t.Fatalf("no token: %d %q", rec.Code, got)
	}
}

func TestDPoPWithoutWithDPoP(t *testing.T) {
	f := newFixture(t)
	s, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	raw := f.iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})
	proof, _ := s.Proof("GET", "http://example.com/api/orders/7", raw, "")
	h := f.g.Middleware(okHandler)
	// The DPoP scheme is no token to a guard without WithDPoP; as Bearer
	// the bound token is refused.
	assertRefused(t, serveReq(h, dpopReq("GET", "DPoP", raw, proof)), http.StatusUnauthorized, `Bearer realm="orders"`)
	assertRefused(t, serveReq(h, dpopReq("GET", "Bearer", raw, proof)), http.StatusUnauthorized, bearerChallenge)
}

func TestDPoPRequestURLWithoutExternalURL(t *testing.T) {
	v, err := dpop.NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, guard.WithDPoP(v))
	s, _ := dpop.GenerateSigner()
	raw := f.iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})
	srv := httptest.NewTLSServer(f.g.Middleware(okHandler))
	defer srv.Close()
	proof, _ := s.Proof("GET", srv.URL+"/x", raw, "")
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.Header.Set("Authorization", "DPoP "+raw)
	req.Header.Set("DPoP", proof)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("https from r.TLS and r.Host: status %d", resp.StatusCode)
	}
}

func TestDPoPNonce(t *testing.T) {
	nonces, err := dpop.NewNonces(make([]byte, 32), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	d := newDPoPFixture(t, []dpop.Option{dpop.WithNonces(nonces)}, guard.RequireNonce())
	rec := serveReq(d.h, dpopReq("GET", "DPoP", d.raw, d.proof(t, "GET", dpopURL, d.raw)))
	assertRefused(t, rec, http.StatusUnauthorized, `DPoP realm="orders", error="use_dpop_nonce"`)
	nonce := rec.Header().Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("no DPoP-Nonce")
	}
	p, _ := d.signer.Proof("GET", dpopURL, d.raw, nonce)
	if rec := serveReq(d.h, dpopReq("GET", "DPoP", d.raw, p)); rec.Code != http.StatusOK {
		t.Fatalf("with the nonce: status %d: %s", rec.Code, rec.Body)
	}
}

// TestDPoPRuleRefusal: a rule's refusal of a DPoP request puts its error
// in the DPoP challenge.
func TestDPoPRuleRefusal(t *testing.T) {
	d := newDPoPFixture(t, nil)
	h := d.g.Require(guard.Scope("orders:write"), okHandler)
	rec := serveReq(h, dpopReq("GET", "DPoP", d.raw, d.proof(t, "GET", dpopURL, d.raw)))
	assertRefused(t, rec, http.StatusForbidden, `DPoP realm="orders", error="insufficient_scope"`)
}

func TestRequireBound(t *testing.T) {
	d := newDPoPFixture(t, nil)
	alice := clientCert(t, "alice")
	certTok := d.iss.Token(token.Claims{Confirmation: boundTo(alice)})
	withCert := func(r *http.Request) *http.Request {
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{mustParse(t, alice)}}
		return r
	}
	any := d.g.Require(guard.RequireBound(), okHandler)
	onlyDPoP := d.g.Require(guard.RequireBound(guard.BindingDPoP), okHandler)
	assertRefused(t, serveReq(any, dpopReq("GET", "Bearer", d.iss.Token(token.Claims{}))), http.StatusUnauthorized, bearerChallenge)
	if rec := serveReq(any, withCert(dpopReq("GET", "Bearer", certTok))); rec.Code != http.StatusOK {
		t.Fatalf("certificate-bound: %d", rec.Code)
	}
	if rec := serveReq(any, dpopReq("GET", "DPoP", d.raw, d.proof(t, "GET", dpopURL, d.raw))); rec.Code != http.StatusOK {
		t.Fatalf("DPoP-bound: %d", rec.Code)
	}
	assertRefused(t, serveReq(onlyDPoP, withCert(dpopReq("GET", "Bearer", certTok))), http.StatusUnauthorized, bearerChallenge)
}

func TestCallBinding(t *testing.T) {
	d := newDPoPFixture(t, nil)
	alice, mallory := clientCert(t, "alice"), clientCert(t, "mallory")
	call := func(auth string, cert *tls.Certificate, proofs ...string) *guard.Refusal {
		r := httptest.NewRequest(http.MethodPost, "/orders.v1.Orders/Get", nil)
		r.Header.Set("Authorization", auth)
		for _, p := range proofs {
			r.Header.Add("DPoP", p)
		}
		if cert != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{mustParse(t, *cert)}}
		}
		_, ref := d.g.AuthorizeCall(r)
		return ref
	}
	certTok := d.iss.Token(token.Claims{Confirmation: boundTo(alice)})
	if ref := call("Bearer "+certTok, &alice); ref != nil {
		t.Fatalf("certificate-bound over the right peer: %v", ref)
	}
	for name, ref := range map[string]*guard.Refusal{
		"another peer certificate": call("Bearer "+certTok, &mallory),
		"no peer certificate":      call("Bearer "+certTok, nil),
		"DPoP-bound":               call("DPoP "+d.raw, nil, d.proof(t, "POST", "https://orders.example/orders.v1.Orders/Get", d.raw)),
		"DPoP-bound as Bearer":     call("Bearer "+d.raw, nil),
	} {
		if ref == nil || ref.Reason != guard.ReasonInvalidToken {
			t.Errorf("%s: %v", name, ref)
		}
	}
}

// FuzzDPoPRequest: whatever the Authorization and DPoP headers hold, a
// guard that takes DPoP answers 400 or 401 (the one valid proof of the
// seeds is spent before), never fails and never echoes them.
func FuzzDPoPRequest(f *testing.F) {
	v, err := dpop.NewVerifier()
	if err != nil {
		f.Fatal(err)
	}
	fx := newFixture(f, guard.WithDPoP(v, guard.ExternalURL("https://orders.example")))
	s, _ := dpop.GenerateSigner()
	raw := fx.iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})
	spent, _ := s.Proof("GET", dpopURL, raw, "")
	h := fx.g.Middleware(okHandler)
	if rec := serveReq(h, dpopReq("GET", "DPoP", raw, spent)); rec.Code != http.StatusOK {
		f.Fatalf("the seed proof: %d", rec.Code)
	}
	for _, seed := range [][2]string{
		{"DPoP " + raw, spent},
		{"DPoP " + raw, ""},
		{"dpop  " + raw, spent + "," + spent},
		{"Bearer " + raw, spent},
		{"DPoP ", "x.y.z"},
		{"DPoP a.b.c", "eyJhbGciOiJub25lIn0.e30."},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, authz, proof string) {
		r := httptest.NewRequest(http.MethodGet, "/api/orders/7", nil)
		if authz != "" {
			r.Header["Authorization"] = []string{authz}
		}
		if proof != "" {
			r.Header["Dpop"] = []string{proof}
		}
		rec := serveReq(h, r)
		if rec.Code != 400 && rec.Code != 401 {
			t.Fatalf("status %d for %q / %q", rec.Code, authz, proof)
		}
		answer := rec.Body.String() + strings.Join(rec.Header().Values("WWW-Authenticate"), "")
		if (len(authz) > 8 && strings.Contains(answer, authz)) || (len(proof) > 8 && strings.Contains(answer, proof)) {
			t.Fatalf("the answer echoes a header")
		}
	})
}
