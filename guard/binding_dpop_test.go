package guard_test

// DPoP-bound tokens (RFC 9449): a guard that takes proofs at
// https://orders.example and the thefts it refuses, a guard without
// WithDPoP or ExternalURL, nonces, a rule's refusal in the DPoP challenge,
// and the fuzzing of the Authorization and DPoP headers.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/token"
)

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
