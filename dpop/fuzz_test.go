package dpop_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
)

// FuzzVerify: no input makes Verify panic, and whatever it accepts is a
// proof for the request, with a thumbprint.
func FuzzVerify(f *testing.F) {
	s, _ := dpop.GenerateSigner()
	good, _ := s.ProofAt("POST", target, "", "", t0)
	f.Add(rfcProof)
	f.Add(good)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, proof string) {
		v, _ := dpop.NewVerifier(dpop.WithClock(func() time.Time { return t0 }))
		p, err := v.Verify(context.Background(), proof, dpop.Request{Method: "POST", URL: target})
		if err == nil && (p == nil || p.JKT == "" || p.ID == "") {
			t.Fatalf("accepted without a key or jti: %+v", p)
		}
	})
}

// FuzzNormalizeURL: normalization is idempotent.
func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{"https://a.example/x/../y?q#f", "HTTP://A:80", "https://[::1]/%7e", "https://a/%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		n, ok := dpop.NormalizeURL(raw)
		if !ok {
			return
		}
		n2, ok := dpop.NormalizeURL(n)
		if !ok || n2 != n {
			t.Fatalf("NormalizeURL(%q) = %q, again %q %v", raw, n, n2, ok)
		}
	})
}
