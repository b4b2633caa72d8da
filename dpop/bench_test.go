package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
)

// BenchmarkVerify is one ES256 proof verified for a resource request (ath,
// jkt, the memory replay cache), next to its floor, the P-256 signature
// check alone (BenchmarkVerifyFloor), in the same run. Every proof is of
// one key, as a client's are: after the first, the verifier remembers the
// header (a hit); BenchmarkVerifyMiss has a new key for every proof.
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

// BenchmarkVerifyMiss is BenchmarkVerify with a key of its own for each
// proof, so that the header is parsed and its jwk validated every time.
func BenchmarkVerifyMiss(b *testing.B) {
	v, _ := dpop.NewVerifier(dpop.WithReplay(dpop.NewMemoryReplay(1 << 24)))
	ctx := context.Background()
	const batch = 256
	type signed struct {
		proof string
		req   dpop.Request
	}
	proofs := make([]signed, 0, batch)
	b.ReportAllocs()
	for b.Loop() {
		if len(proofs) == 0 {
			b.StopTimer()
			for range batch {
				s, _ := dpop.GenerateSigner()
				req := dpop.Request{Method: "GET", URL: "https://api.example/orders", AccessToken: "the-access-token", JKT: s.JKT()}
				p, _ := s.Proof(req.Method, req.URL, req.AccessToken, "")
				proofs = append(proofs, signed{p, req})
			}
			b.StartTimer()
		}
		p := proofs[len(proofs)-1]
		proofs = proofs[:len(proofs)-1]
		if _, err := v.Verify(ctx, p.proof, p.req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRatio alternates batches of 32 proofs verified (of one
// key: remembered header) and 32 floor checks (the P-256 signature of a
// proof with crypto/ecdsa, R||S as JWS has it), so that load on a shared
// machine hits both alike, and reports verify/floor.
func BenchmarkVerifyRatio(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, _ := dpop.NewSigner(k)
	v, _ := dpop.NewVerifier(dpop.WithReplay(dpop.NewMemoryReplay(1 << 24)))
	req := dpop.Request{Method: "GET", URL: "https://api.example/orders", AccessToken: "the-access-token", JKT: s.JKT()}
	p, _ := s.Proof(req.Method, req.URL, req.AccessToken, "")
	i := strings.LastIndexByte(p, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(p[i+1:])
	input, r, ss := []byte(p[:i]), new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	ctx := context.Background()
	const batch = 32
	proofs := make([]string, batch)
	var verifyT, floorT time.Duration
	for b.Loop() {
		b.StopTimer()
		for j := range proofs {
			proofs[j], _ = s.Proof(req.Method, req.URL, req.AccessToken, "")
		}
		b.StartTimer()
		t0 := time.Now()
		for _, p := range proofs {
			if _, err := v.Verify(ctx, p, req); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for range batch {
			h := sha256.Sum256(input)
			if !ecdsa.Verify(&k.PublicKey, h[:], r, ss) {
				b.Fatal("floor")
			}
		}
		floorT += time.Since(t1)
		verifyT += t1.Sub(t0)
	}
	b.ReportMetric(float64(verifyT)/float64(floorT), "x-floor")
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
