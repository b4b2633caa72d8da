package guard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/token"
)

// dpopBench is a guard that takes DPoP proofs, a DPoP-bound token of the
// benchmark's claims, and the pieces of the floor: the proof key's public
// half, and a proof's signing input and signature.
type dpopBench struct {
	*bench
	dpopHandler http.Handler
	dpopReq     *http.Request
	signer      *dpop.Signer
	boundRaw    string
	pub         *ecdsa.PublicKey
	input       []byte
	r, s        *big.Int
}

const benchURL = "https://orders.example/api/orders/7"

func newDPoPBench(b *testing.B) *dpopBench {
	s := newBench(b)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := dpop.NewSigner(key)
	if err != nil {
		b.Fatal(err)
	}
	v, err := dpop.NewVerifier() // the default in-memory replay cache
	if err != nil {
		b.Fatal(err)
	}
	g, err := guard.New(s.verifier(b), guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		guard.WithDPoP(v, guard.ExternalURL("https://orders.example")))
	if err != nil {
		b.Fatal(err)
	}
	claims := token.Claims{
		Subject:      "7f3c2a9e-4b1d-4e8a-9c6f-1a2b3c4d5e6f",
		ClientID:     "spa",
		Scope:        "openid profile orders:read orders:write",
		Email:        "alice@acme.example",
		Name:         "Alice Liddell",
		Roles:        []string{"admin", "user"},
		Groups:       []string{"admin"},
		Org:          "acme",
		Confirmation: &token.Confirmation{JKT: signer.JKT()},
	}
	bound := s.iss.Token(claims)
	d := &dpopBench{bench: s, dpopHandler: g.Middleware(s.handler), signer: signer, boundRaw: bound, pub: &key.PublicKey}
	d.dpopReq = httptest.NewRequest(http.MethodGet, "/api/orders/7", nil)
	d.dpopReq.Header.Set("Authorization", "DPoP "+bound)
	// The floor's JWS: a proof of this request, its signature split.
	p := d.proof(b)
	i := strings.LastIndexByte(p, '.')
	sig, err := base64.RawURLEncoding.DecodeString(p[i+1:])
	if err != nil || len(sig) != 64 {
		b.Fatalf("proof signature: %v", err)
	}
	d.input, d.r, d.s = []byte(p[:i]), new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	b.Logf("access token %d bytes, proof %d bytes", len(bound), len(p))
	return d
}

func (d *dpopBench) proof(b *testing.B) string {
	p, err := d.signer.Proof(http.MethodGet, benchURL, d.boundRaw, "")
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// floor is one ES256 verification of the proof with crypto/ecdsa: the
// SHA-256 of the signing input and ecdsa.Verify, nothing parsed.
func (d *dpopBench) floor(b *testing.B) {
	h := sha256.Sum256(d.input)
	if !ecdsa.Verify(d.pub, h[:], d.r, d.s) {
		b.Fatal("floor: the signature does not verify")
	}
}

func (d *dpopBench) serveDPoP(b *testing.B, proof string) {
	d.dpopReq.Header["Dpop"] = []string{proof}
	rec := httptest.NewRecorder()
	d.dpopHandler.ServeHTTP(rec, d.dpopReq)
	if rec.Code != http.StatusOK {
		b.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

// BenchmarkGuardDPoP measures, in one run, the guard (verifier cache on)
// with a bearer token, with a DPoP-bound token and a fresh proof for every
// request (signed outside the timed part, checked against the default
// in-memory replay cache), and the floor of what DPoP adds: one ES256
// verification of a proof with crypto/ecdsa. Goal (issue 15): dpop −
// bearer ≤ floor; BenchmarkGuardDPoPRatio reports it as a ratio.
func BenchmarkGuardDPoP(b *testing.B) {
	d := newDPoPBench(b)
	b.Run("bearer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.serve(b, d.dpopHandler)
		}
	})
	b.Run("dpop", func(b *testing.B) {
		const batch = 256
		proofs := make([]string, 0, batch)
		b.ReportAllocs()
		for b.Loop() {
			if len(proofs) == 0 {
				b.StopTimer()
				for range batch {
					proofs = append(proofs, d.proof(b))
				}
				b.StartTimer()
			}
			d.serveDPoP(b, proofs[len(proofs)-1])
			proofs = proofs[:len(proofs)-1]
		}
	})
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.floor(b)
		}
	})
}

// BenchmarkGuardDPoPRatio alternates, in one loop, 32 bearer requests, 32
// DPoP requests and 32 floor verifications, so that load on the shared
// machine hits all three alike, and reports (dpop − bearer) / floor: the
// goal is ≤ 1.
func BenchmarkGuardDPoPRatio(b *testing.B) {
	d := newDPoPBench(b)
	const batch = 32
	var bearerT, dpopT, floorT time.Duration
	proofs := make([]string, batch)
	n := 0
	for b.Loop() {
		n++
		b.StopTimer()
		for i := range proofs {
			proofs[i] = d.proof(b)
		}
		b.StartTimer()
		t0 := time.Now()
		for range batch {
			d.serve(b, d.dpopHandler)
		}
		t1 := time.Now()
		for _, p := range proofs {
			d.serveDPoP(b, p)
		}
		t2 := time.Now()
		for range batch {
			d.floor(b)
		}
		t3 := time.Now()
		bearerT += t1.Sub(t0)
		dpopT += t2.Sub(t1)
		floorT += t3.Sub(t2)
	}
	b.ReportMetric(float64(dpopT-bearerT)/float64(floorT), "x-floor")
	b.ReportMetric(float64(bearerT.Nanoseconds())/float64(n*batch), "ns-bearer")
	b.ReportMetric(float64(dpopT.Nanoseconds())/float64(n*batch), "ns-dpop")
	b.ReportMetric(float64(floorT.Nanoseconds())/float64(n*batch), "ns-floor")
}
