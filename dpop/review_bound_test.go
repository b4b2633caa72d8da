package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse/dpop"
)

// Adversarial review of proof verification (issue 15): each test is an
// attack and asserts the refusal.

// mismatchedCurve signs a proof whose JWS alg names another curve than
// its jwk's key, padding the signature to the alg's size.
func mismatchedCurve(t *testing.T, alg string, key *ecdsa.PrivateKey, size int, h crypto.Hash) string {
	t.Helper()
	header := b64(map[string]any{"typ": "dpop+jwt", "alg": alg, "jwk": jose.JSONWebKey{Key: &key.PublicKey}})
	payload := b64(goodClaims())
	input := header + "." + payload
	var sum []byte
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256([]byte(input))
		sum = s[:]
	case crypto.SHA384:
		s := sha512.Sum384([]byte(input))
		sum = s[:]
	}
	r, s, err := ecdsa.Sign(rand.Reader, key, sum)
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 2*size)
	r.FillBytes(sig[:size])
	s.FillBytes(sig[size:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestReviewAlgorithmAndKeyMismatch(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, proof := range map[string]string{
		// A P-256 signature over SHA-384, zero-padded to ES384's size:
		// ecdsa.Verify would truncate the hash and accept it.
		"ES384 with a P-256 jwk": mismatchedCurve(t, "ES384", p256, 48, crypto.SHA384),
		"ES512 with a P-256 jwk": mismatchedCurve(t, "ES512", p256, 66, crypto.SHA384),
		"RS256 with an EC jwk":   mismatchedCurve(t, "RS256", p256, 32, crypto.SHA256),
		"EdDSA with an EC jwk":   mismatchedCurve(t, "EdDSA", p256, 32, crypto.SHA256),
	} {
		t.Run(name, func(t *testing.T) {
			v, _ := dpop.NewVerifier(dpop.WithClock(func() time.Time { return t0 }))
			if p, err := v.Verify(context.Background(), proof, dpop.Request{Method: "POST", URL: target}); p != nil || !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("accepted or wrong error: %v %v", p, err)
			}
		})
	}
}

// htu names exactly the target, up to RFC 3986 equivalence: every other
// spelling of another URL is refused.
func TestReviewHTUVariants(t *testing.T) {
	for _, tc := range []struct {
		htu  string
		same bool
	}{
		{"HTTPS://AS.EXAMPLE:443/oauth2/token", true},
		{"https://as.example/oauth2/%74oken", true},
		{"https://as.example/oauth2/token?x=1#f", true}, // query and fragment are not compared (RFC 9449 §4.3 step 9)
		{"https://user@as.example/oauth2/token", false},
		{"https://as.example:pw@as.example/oauth2/token", false},
		{"https://as.example./oauth2/token", false},
		{"https://as.example/OAuth2/token", false},
		{"http://as.example/oauth2/token", false},
		{"https://as.example:80/oauth2/token", false},
		{"https://as.example:0443/oauth2/token", false},
		{"https://as.example:8443/oauth2/token", false},
		{"https://as.example/oauth2%2Ftoken", false},
		{"https://as.example/oauth2/token/", false},
		{"https://as.example//oauth2/token", false},
		{"https://as.example/oauth2/token%00", false},
		{"https://as.example/oauth2/token%20", false},
		{"https://as.example%2Fevil/oauth2/token", false},
		{"https://evil.example\\@as.example/oauth2/token", false},
		{"//as.example/oauth2/token", false},
		{"https:as.example/oauth2/token", false},
		{"wss://as.example/oauth2/token", false},
		{"https://[::1]/oauth2/token", false},
	} {
		t.Run(tc.htu, func(t *testing.T) {
			v, _ := dpop.NewVerifier(dpop.WithClock(func() time.Time { return t0 }))
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			p := craft(t, jose.ES256, key, map[jose.HeaderKey]any{jose.HeaderType: "dpop+jwt"}, with(goodClaims(), "htu", tc.htu), true)
			got, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: target})
			if (got != nil) != tc.same {
				t.Fatalf("htu %q: accepted %v (%v), want %v", tc.htu, got != nil, err, tc.same)
			}
		})
	}
}

// A proof replayed at the last instant of its window is refused: the
// replay cache must not forget a proof while the verifier still takes it.
func TestReviewReplayAtTheEndOfTheWindow(t *testing.T) {
	signer, _ := dpop.GenerateSigner()
	proof, err := signer.ProofAt("POST", target, "", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(60 * time.Second) // the default window: iat is exactly 60s old
	v, _ := dpop.NewVerifier(dpop.WithClock(func() time.Time { return now }))
	req := dpop.Request{Method: "POST", URL: target}
	if _, err := v.Verify(context.Background(), proof, req); err != nil {
		t.Fatalf("first use at the end of the window: %v", err)
	}
	if p, err := v.Verify(context.Background(), proof, req); p != nil || !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("replay at the same instant: accepted %v (%v)", p != nil, err)
	}
}

// A full memory replay cache refuses new proofs (503) and still refuses
// the ones it holds as replays: it never forgets one to make room.
func TestReviewReplayCacheFull(t *testing.T) {
	v, _ := dpop.NewVerifier(dpop.WithReplay(dpop.NewMemoryReplay(1)))
	signer, _ := dpop.GenerateSigner()
	req := dpop.Request{Method: "POST", URL: target}
	first, _ := signer.Proof("POST", target, "", "")
	second, _ := signer.Proof("POST", target, "", "")
	if _, err := v.Verify(context.Background(), first, req); err != nil {
		t.Fatal(err)
	}
	if p, err := v.Verify(context.Background(), second, req); p != nil || !errors.Is(err, dpop.ErrReplayUnavailable) {
		t.Fatalf("a proof beyond the cache: %v %v, want ErrReplayUnavailable", p, err)
	}
	if p, err := v.Verify(context.Background(), first, req); p != nil || !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("the held proof replayed: %v %v, want a replay refusal", p, err)
	}
}

// iat of other JSON types or out of range is refused.
func TestReviewIATTypes(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	typ := map[jose.HeaderKey]any{jose.HeaderType: "dpop+jwt"}
	for name, iat := range map[string]any{
		"true": true, "object": map[string]any{"n": t0.Unix()}, "array": []int64{t0.Unix()},
		"1e300": 1e300, "negative": -t0.Unix(), "zero": 0, "ms": t0.UnixMilli(),
	} {
		t.Run(name, func(t *testing.T) {
			v, _ := dpop.NewVerifier(dpop.WithClock(func() time.Time { return t0 }))
			p := craft(t, jose.ES256, key, typ, with(goodClaims(), "iat", iat), true)
			if got, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: target}); got != nil || !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("iat %v: accepted %v (%v)", iat, got != nil, err)
			}
		})
	}
	// A fraction is truncated, as NumericDate is: fine inside the window.
	v, _ := dpop.NewVerifier(dpop.WithClock(func() time.Time { return t0 }))
	p := craft(t, jose.ES256, key, typ, with(goodClaims(), "iat", float64(t0.Unix())+0.75), true)
	if _, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: target}); err != nil {
		t.Fatalf("fractional iat: %v", err)
	}
}
