package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse/dpop"
)

// The example proof of RFC 9449 §4.1 (Figure 3), its key's thumbprint
// (RFC 9449 §6.1) and the time it was made.
const (
	rfcProof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik" +
		"VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMi" +
		"LCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsIm" +
		"NydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIs" +
		"Imh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMj" +
		"YyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7" +
		"NVY-FNyJK70nfbV37xRZT3Lg"
	rfcJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
	rfcIAT = 1562262616
)

func TestRFC9449Example(t *testing.T) {
	v, err := dpop.NewVerifier(dpop.WithClock(func() time.Time { return time.Unix(rfcIAT, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	p, err := v.Verify(context.Background(), rfcProof, dpop.Request{Method: "POST", URL: "https://server.example.com/token"})
	if err != nil {
		t.Fatalf("RFC 9449 §4.1 proof: %v", err)
	}
	if p.JKT != rfcJKT || p.ID != "-BwC3ESc6acc2lTc" || p.Algorithm != "ES256" || p.IssuedAt.Unix() != rfcIAT {
		t.Fatalf("proof %+v", p)
	}
	if got, err := dpop.Thumbprint(p.Key); err != nil || got != rfcJKT {
		t.Fatalf("Thumbprint = %q, %v; want %s (RFC 9449 §6.1)", got, err, rfcJKT)
	}
	// The same proof again is a replay.
	if _, err := v.Verify(context.Background(), rfcProof, dpop.Request{Method: "POST", URL: "https://server.example.com/token"}); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("replay of the RFC proof: %v", err)
	}
}

// RFC 7638 §3.1: the thumbprint of the example RSA key.
func TestThumbprintRFC7638(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	got, err := dpop.Thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if err != nil || got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("Thumbprint = %q, %v", got, err)
	}
	if _, err := dpop.Thumbprint([]byte("secret")); err == nil {
		t.Fatal("a symmetric key has a thumbprint")
	}
}

// RFC 9449 §7.1: the ath of the example access token.
func TestATH(t *testing.T) {
	if got := dpop.ATH("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"); got != "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo" {
		t.Fatalf("ATH = %s", got)
	}
}

var t0 = time.Unix(1_800_000_000, 0)

const target = "https://as.example/oauth2/token"

// craft signs a proof with any header and claims, as an attacker would.
func craft(t *testing.T, alg jose.SignatureAlgorithm, key any, header map[jose.HeaderKey]any, claims map[string]any, embed bool) string {
	t.Helper()
	opts := &jose.SignerOptions{EmbedJWK: embed, ExtraHeaders: header}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	if raw, ok := claims["raw"].(string); ok {
		payload = []byte(raw) // the payload exactly, for JSON the encoder cannot write
	}
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func goodClaims() map[string]any {
	return map[string]any{"jti": "j-" + rand.Text(), "htm": "POST", "htu": target, "iat": t0.Unix()}
}

func with(c map[string]any, k string, v any) map[string]any {
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

// b64 encodes JSON as a JWS segment.
func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// refusal is a proof that Verify refuses for req: with a *NonceError if
// nonce, else with ErrInvalidProof.
type refusal struct {
	name  string
	proof string
	req   dpop.Request
	nonce bool // want a *NonceError rather than ErrInvalidProof
}

// refusals are every refusal of Verify, one case per check, each an
// attack, for a verifier on the clock t0 with the nonces returned; the
// signer made the proofs of the cases with a valid header.
func refusals(t *testing.T) ([]refusal, *dpop.Nonces, *dpop.Signer) {
	t.Helper()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherJWK := jose.JSONWebKey{Key: &other.PublicKey}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384JWK := jose.JSONWebKey{Key: &p384.PublicKey}
	privJWK := jose.JSONWebKey{Key: ec}
	typ := map[jose.HeaderKey]any{jose.HeaderType: "dpop+jwt"}
	signer, err := dpop.NewSigner(ec)
	if err != nil {
		t.Fatal(err)
	}
	good := func(method, url, at, nonce string) string {
		p, err := signer.ProofAt(method, url, at, nonce, t0)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	nonces, err := dpop.NewNonces([]byte(strings.Repeat("k", 32)), time.Minute, dpop.WithNonceClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	hs := craft(t, jose.HS256, []byte(strings.Repeat("s", 32)), typ, goodClaims(), false)
	goodParts := strings.Split(good("POST", target, "", ""), ".")
	noneHeader := b64(map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": otherJWK})
	privHeader := b64(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": privJWK})
	reused := good("POST", target, "", "")

	req := dpop.Request{Method: "POST", URL: target}
	resource := dpop.Request{Method: "GET", URL: "https://api.example/orders", AccessToken: "the-token", JKT: signer.JKT()}
	return []refusal{
		{"empty", "", req, false},
		{"oversized", strings.Repeat("a", dpop.MaxProofBytes+1), req, false},
		{"not a JWS", "a.b", req, false},
		{"reused jti", reused, req, false},
		{"other method", good("GET", target, "", ""), req, false},
		{"other URL", good("POST", "https://as.example/oauth2/other", "", ""), req, false},
		{"other host", good("POST", "https://evil.example/oauth2/token", "", ""), req, false},
		{"too old", mustProofAt(t, signer, "POST", target, "", t0.Add(-61*time.Second)), req, false},
		{"from the future", mustProofAt(t, signer, "POST", target, "", t0.Add(6*time.Second)), req, false},
		{"no ath at a resource", good("GET", resource.URL, "", ""), resource, false},
		{"mismatched ath", good("GET", resource.URL, "another-token", ""), resource, false},
		{"ath at the token endpoint", good("POST", target, "the-token", ""), req, false},
		{"other key than the token's", good("GET", resource.URL, "the-token", ""), dpop.Request{Method: "GET", URL: resource.URL, AccessToken: "the-token", JKT: dpop.ATH("x")}, false},
		{"HS256", hs, req, false},
		{"none", noneHeader + "." + goodParts[1] + ".", req, false},
		{"wrong typ", craft(t, jose.ES256, ec, map[jose.HeaderKey]any{jose.HeaderType: "JWT"}, goodClaims(), true), req, false},
		{"at+jwt typ", craft(t, jose.ES256, ec, map[jose.HeaderKey]any{jose.HeaderType: "at+jwt"}, goodClaims(), true), req, false},
		{"no typ", craft(t, jose.ES256, ec, nil, goodClaims(), true), req, false},
		{"no jwk", craft(t, jose.ES256, ec, typ, goodClaims(), false), req, false},
		{"private key in jwk", privHeader + "." + goodParts[1] + "." + goodParts[2], req, false},
		{"jwk that does not verify the signature", b64(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": otherJWK}) + "." + goodParts[1] + "." + goodParts[2], req, false},
		{"tampered claims", goodParts[0] + "." + b64(map[string]any{"jti": "x", "htm": "GET", "htu": target, "iat": t0.Unix()}) + "." + goodParts[2], req, false},
		{"symmetric jwk", b64(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": map[string]string{"kty": "oct", "k": "c2VjcmV0"}}) + "." + goodParts[1] + "." + goodParts[2], req, false},
		{"crit header", craft(t, jose.ES256, ec, map[jose.HeaderKey]any{jose.HeaderType: "dpop+jwt", "crit": []string{"exp"}, "exp": 1}, goodClaims(), true), req, false},
		{"no jti", craft(t, jose.ES256, ec, typ, with(goodClaims(), "jti", nil), true), req, false},
		{"jti too long", craft(t, jose.ES256, ec, typ, with(goodClaims(), "jti", strings.Repeat("j", 257)), true), req, false},
		{"no iat", craft(t, jose.ES256, ec, typ, with(goodClaims(), "iat", nil), true), req, false},
		{"iat a string", craft(t, jose.ES256, ec, typ, with(goodClaims(), "iat", "1800000000"), true), req, false},
		{"htu with a query of another URL", good("POST", "https://as.example/oauth2/token?x=1", "", ""), dpop.Request{Method: "POST", URL: "https://as.example/oauth2/authorize"}, false},
		{"duplicate claim", craft(t, jose.ES256, ec, typ, map[string]any{"raw": `{"jti":"a","htm":"GET","htm":"POST","htu":"` + target + `","iat":1800000000}`}, true), req, false},
		{"no nonce", good("POST", target, "", ""), dpop.Request{Method: "POST", URL: target, Nonce: true}, true},
		{"stale nonce", good("POST", target, "", "AAAAAAAAAAAAAAAAAAAAAA"), dpop.Request{Method: "POST", URL: target, Nonce: true}, true},
		{"padded segment", goodParts[0] + "." + goodParts[1] + "==." + goodParts[2], req, false},
		{"newline in a segment", goodParts[0] + "." + goodParts[1][:8] + "\n" + goodParts[1][8:] + "." + goodParts[2], req, false},
		{"space in a segment", goodParts[0] + " ." + goodParts[1] + "." + goodParts[2], req, false},
		{"four segments", goodParts[0] + "." + goodParts[1] + "." + goodParts[2] + ".", req, false},
		{"stray bits in the signature", goodParts[0] + "." + goodParts[1] + "." + strayBits(goodParts[2]), req, false},
		{"truncated signature", goodParts[0] + "." + goodParts[1] + "." + goodParts[2][:len(goodParts[2])-4], req, false},
		{"no signature", goodParts[0] + "." + goodParts[1] + ".", req, false},
		{"unencoded payload", craft(t, jose.ES256, ec, map[jose.HeaderKey]any{jose.HeaderType: "dpop+jwt", "b64": false}, goodClaims(), true), req, false},
		{"P-384 jwk for ES256", b64(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": p384JWK}) + "." + goodParts[1] + "." + goodParts[2], req, false},
	}, nonces, signer
}

// strayBits sets the unused low bits of a segment's last character: the
// same bytes, another encoding. The segment must have some (its length is
// not a multiple of 4; a 64-byte signature has 4).
func strayBits(seg string) string {
	if len(seg)%4 == 0 {
		panic("strayBits: no unused bits")
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last|1])
}

// Every refusal of Verify, one case per check, each an attack.
func TestVerifyRefusals(t *testing.T) {
	cases, nonces, _ := refusals(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := dpop.NewVerifier(dpop.WithClock(func() time.Time { return t0 }), dpop.WithNonces(nonces))
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "reused jti" {
				if _, err := v.Verify(context.Background(), tc.proof, tc.req); err != nil {
					t.Fatalf("first use: %v", err)
				}
			}
			p, err := v.Verify(context.Background(), tc.proof, tc.req)
			if p != nil {
				t.Fatalf("accepted: %+v", p)
			}
			if tc.nonce {
				var ne *dpop.NonceError
				if !errors.As(err, &ne) || !errors.Is(err, dpop.ErrUseNonce) || ne.Nonce != nonces.Current() {
					t.Fatalf("err = %v, want a NonceError with the current nonce", err)
				}
				return
			}
			if !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("err = %v, want ErrInvalidProof", err)
			}
			t.Log(err)
			if tc.proof != "" && len(tc.proof) > 20 && strings.Contains(err.Error(), tc.proof[:20]) {
				t.Fatalf("the error quotes the proof: %v", err)
			}
		})
	}
}

func mustProofAt(t *testing.T, s *dpop.Signer, method, url, at string, iat time.Time) string {
	t.Helper()
	p, err := s.ProofAt(method, url, at, "", iat)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Every key type the signer takes makes proofs the verifier accepts, at
// the edges of the window, with ath, the token's key and a nonce.
func TestVerifyAccepts(t *testing.T) {
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	gen, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	nonces, _ := dpop.NewNonces([]byte(strings.Repeat("k", 32)), time.Minute, dpop.WithNonceClock(func() time.Time { return t0 }))
	v, err := dpop.NewVerifier(dpop.WithClock(func() time.Time { return t0 }), dpop.WithNonces(nonces))
	if err != nil {
		t.Fatal(err)
	}
	signers := []*dpop.Signer{gen}
	for _, k := range []crypto.Signer{ec384, ec521, ed, rsaKey} {
		s, err := dpop.NewSigner(k)
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
	}
	for _, s := range signers {
		for _, iat := range []time.Time{t0.Add(-60 * time.Second), t0, t0.Add(5 * time.Second)} {
			p, err := s.ProofAt("GET", "https://API.example:443/a/./b/../orders?page=2#x", "tok", nonces.Current(), iat)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(context.Background(), p, dpop.Request{Method: "GET", URL: "https://api.example/a/orders", AccessToken: "tok", JKT: s.JKT(), Nonce: true})
			if err != nil {
				t.Fatalf("%s at %s: %v", s.Algorithm(), iat.Sub(t0), err)
			}
			if got.JKT != s.JKT() || got.Algorithm != s.Algorithm() {
				t.Fatalf("proof %+v, signer %s %s", got, s.JKT(), s.Algorithm())
			}
		}
	}
	// htu may name an alternative URL of the target.
	p, _ := gen.ProofAt("POST", "https://as.example:9443/oauth2/token", "", "", t0)
	if _, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: target, AltURLs: []string{"https://as.example:9443/oauth2/token"}}); err != nil {
		t.Fatalf("alternative URL: %v", err)
	}
	if a := []string{"ES384", "EdDSA", "PS256"}; signers[1].Algorithm() != a[0] || signers[3].Algorithm() != a[1] || signers[4].Algorithm() != a[2] {
		t.Fatal("algorithms of the signers")
	}
}

// A proof with an RSA key shorter than 2048 bits is refused; the signer
// refuses such a key too.
func TestShortRSA(t *testing.T) {
	k, _ := rsa.GenerateKey(rand.Reader, 1024)
	if _, err := dpop.NewSigner(k); err == nil {
		t.Fatal("NewSigner took a 1024-bit RSA key")
	}
	p := craft(t, jose.PS256, k, map[jose.HeaderKey]any{jose.HeaderType: "dpop+jwt"}, goodClaims(), true)
	v, _ := dpop.NewVerifier(dpop.WithClock(func() time.Time { return t0 }))
	if _, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: target}); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("1024-bit RSA proof: %v", err)
	}
}

type brokenReplay struct{}

func (brokenReplay) First(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("down")
}

// A replay cache that cannot answer refuses the proof as unavailable, not
// as invalid.
func TestReplayUnavailable(t *testing.T) {
	s, _ := dpop.GenerateSigner()
	v, _ := dpop.NewVerifier(dpop.WithReplay(brokenReplay{}))
	p, _ := s.Proof("POST", target, "", "")
	_, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: target})
	if !errors.Is(err, dpop.ErrReplayUnavailable) || errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("err = %v", err)
	}
}

// Options that would accept too much are errors.
func TestOptions(t *testing.T) {
	for name, o := range map[string]dpop.Option{
		"HS256":       dpop.WithAlgorithms("HS256"),
		"none":        dpop.WithAlgorithms("none"),
		"empty":       dpop.WithAlgorithms(),
		"window zero": dpop.WithWindow(0, 0),
		"window huge": dpop.WithWindow(time.Hour, 0),
		"nil clock":   dpop.WithClock(nil),
		"nil replay":  dpop.WithReplay(nil),
		"nil nonces":  dpop.WithNonces(nil),
		"neg future":  dpop.WithWindow(time.Minute, -time.Second),
	} {
		if _, err := dpop.NewVerifier(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	v, _ := dpop.NewVerifier(dpop.WithAlgorithms("ES256"))
	if a := v.Algorithms(); len(a) != 1 || a[0] != "ES256" {
		t.Fatalf("Algorithms = %v", a)
	}
	// A proof with an algorithm not accepted is refused.
	s, _ := dpop.NewSigner(mustEd(t))
	p, _ := s.Proof("POST", target, "", "")
	if _, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: target}); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("EdDSA proof to an ES256 verifier: %v", err)
	}
	// A request for a nonce without Nonces is an error of the caller, not a refusal of the proof.
	s2, _ := dpop.GenerateSigner()
	p2, _ := s2.Proof("POST", target, "", "")
	if _, err := v.Verify(context.Background(), p2, dpop.Request{Method: "POST", URL: target, Nonce: true}); err == nil || errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("nonce without Nonces: %v", err)
	}
}

func mustEd(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
