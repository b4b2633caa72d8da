package dpop_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse/dpop"
)

// headerRefusals are the refusals of the header checks and of the
// signature: a proof refused with one of them leaves nothing cached.
var headerRefusals = []string{
	"not a compact JWS", "not one signature", "typ is not", "critical header", "unencoded payload",
	"no jwk header", "jwk is not", "RSA jwk shorter", "jwk has no thumbprint", "the signature does not verify",
}

// A remembered header is exactly as strict as a new one: every refusal
// case of TestVerifyRefusals, on a verifier that has not seen its header
// (a miss), again on it (a hit when the header was remembered), and twice
// on one verifier that remembers the signer's header, is refused with the
// same error each time.
func TestHeaderCacheRefusals(t *testing.T) {
	cases, nonces, signer := refusals(t)
	ctx := context.Background()
	newVerifier := func(t *testing.T) *dpop.Verifier {
		v, err := dpop.NewVerifier(dpop.WithClock(func() time.Time { return t0 }), dpop.WithNonces(nonces))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	shared := newVerifier(t)
	warm, err := signer.ProofAt("POST", target, "", "", t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shared.Verify(ctx, warm, dpop.Request{Method: "POST", URL: target}); err != nil {
		t.Fatal(err)
	}
	if !dpop.HeaderCached(shared, warm) {
		t.Fatal("the header of a verified proof is not remembered")
	}
	hits := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fresh := newVerifier(t)
			if tc.name == "reused jti" {
				for _, v := range []*dpop.Verifier{fresh, shared} {
					if _, err := v.Verify(ctx, tc.proof, tc.req); err != nil {
						t.Fatalf("first use: %v", err)
					}
				}
			}
			hit := dpop.HeaderCached(shared, tc.proof)
			p, miss := fresh.Verify(ctx, tc.proof, tc.req)
			if p != nil || miss == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if dpop.HeaderCached(fresh, tc.proof) {
				for _, r := range headerRefusals {
					if strings.Contains(miss.Error(), r) {
						t.Fatalf("the header of a proof refused with %q is remembered", miss)
					}
				}
			}
			for i, v := range []*dpop.Verifier{fresh, shared, shared} {
				p, err := v.Verify(ctx, tc.proof, tc.req)
				if p != nil {
					t.Fatalf("run %d accepted: %+v", i, p)
				}
				if err.Error() != miss.Error() || errors.Is(err, dpop.ErrInvalidProof) != errors.Is(miss, dpop.ErrInvalidProof) ||
					errors.Is(err, dpop.ErrUseNonce) != errors.Is(miss, dpop.ErrUseNonce) {
					t.Fatalf("run %d (remembered header: %v): %v; the first: %v", i, hit, err, miss)
				}
			}
			if hit {
				hits++
			}
		})
	}
	// Most cases carry the signer's header: they ran as hits.
	if hits < 15 {
		t.Fatalf("%d cases ran with a remembered header", hits)
	}
	t.Logf("%d of %d cases ran with a remembered header", hits, len(cases))
}

// Headers are remembered per verifier, for the algorithms package keys
// verifies, up to 1 KiB; a header that is remembered still verifies the
// signature of each proof.
func TestHeaderCache(t *testing.T) {
	ctx := context.Background()
	clock := dpop.WithClock(func() time.Time { return t0 })
	req := dpop.Request{Method: "POST", URL: target}
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tc := range []struct {
		key      crypto.Signer
		remember bool
	}{{ec256, true}, {ed, true}, {rsaKey, true}, {ec384, false}, {ec521, false}} {
		s, err := dpop.NewSigner(tc.key)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := dpop.NewVerifier(clock)
		other, _ := dpop.NewVerifier(clock)
		for i := range 3 {
			p, _ := s.ProofAt("POST", target, "", "", t0)
			got, err := v.Verify(ctx, p, req)
			if err != nil || got.JKT != s.JKT() || got.Algorithm != s.Algorithm() {
				t.Fatalf("%s proof %d: %+v, %v", s.Algorithm(), i, got, err)
			}
			if dpop.HeaderCached(v, p) != tc.remember || dpop.HeaderCached(other, p) {
				t.Fatalf("%s: remembered %v by its verifier, %v by another", s.Algorithm(), dpop.HeaderCached(v, p), dpop.HeaderCached(other, p))
			}
			// Another proof's signature with the remembered header.
			q, _ := s.ProofAt("POST", target, "", "", t0)
			parts, qparts := strings.Split(p, "."), strings.Split(q, ".")
			if _, err := v.Verify(ctx, parts[0]+"."+parts[1]+"."+qparts[2], req); !errors.Is(err, dpop.ErrInvalidProof) {
				t.Fatalf("%s: a signature of another proof: %v", s.Algorithm(), err)
			}
		}
	}
	// A header longer than 1 KiB verifies and is not remembered.
	long := craft(t, jose.ES256, ec256, map[jose.HeaderKey]any{jose.HeaderType: "dpop+jwt", "kid": strings.Repeat("k", 1024)}, goodClaims(), true)
	v, _ := dpop.NewVerifier(clock)
	if _, err := v.Verify(ctx, long, req); err != nil || dpop.HeaderCached(v, long) {
		t.Fatalf("long header: %v, remembered %v", err, dpop.HeaderCached(v, long))
	}
}
