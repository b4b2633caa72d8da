package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/gatehousehq/gatehouse/dpop"
)

// BenchmarkVerify is one ES256 proof verified for a resource request (ath,
// jkt, the memory replay cache), next to its floor, the P-256 signature
// check alone (BenchmarkVerifyFloor), in the same run.
func BenchmarkVerify(b *testing.B) {
	s, _ := dpop.GenerateSigner()
	v, _ := dpop.NewVerifier(dpop.WithReplay(dpop.NewMemoryReplay(1 << 24)))
	req := dpop.Request{Method: "GET", URL: "https://api.example/orders", AccessToken: "the-access-token", JKT: s.JKT()}
	proofs := make([]string, b.N)
	for i := range proofs {
		proofs[i], _ = s.Proof(req.Method, req.URL, req.AccessToken, "")
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := v.Verify(ctx, proofs[i], req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyFloor(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sum := sha256.Sum256([]byte("header.payload"))
	sig, _ := ecdsa.SignASN1(rand.Reader, k, sum[:])
	b.ReportAllocs()
	for b.Loop() {
		if !ecdsa.VerifyASN1(&k.PublicKey, sum[:], sig) {
			b.Fatal("signature")
		}
	}
}
