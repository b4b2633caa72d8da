package dpop_test

import (
	"context"
	"encoding/base64"
	"strings"
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

// FuzzVerifyCached: a proof with a remembered header (its payload and
// signature mutated, or a header one mutation away) gets the same answer
// from a verifier that remembers the header as from one that has not seen
// it, and what is accepted is a proof for the request.
func FuzzVerifyCached(f *testing.F) {
	s, _ := dpop.GenerateSigner()
	warm, _ := s.ProofAt("POST", target, "", "", t0)
	header, _, _ := strings.Cut(warm, ".")
	good, _ := s.ProofAt("POST", target, "", "", t0)
	parts := strings.Split(good, ".")
	f.Add(parts[0], parts[1], parts[2])
	f.Add(parts[0], parts[1], parts[2][:len(parts[2])-1]+"B")
	f.Add(parts[0], parts[1][1:], parts[2])
	f.Add(parts[0], parts[1]+"=", parts[2])
	f.Add(parts[0], parts[1], "")
	f.Add(parts[0]+"A", parts[1], parts[2])
	f.Add(parts[0], "e30", parts[2])
	ctx := context.Background()
	clock := dpop.WithClock(func() time.Time { return t0 })
	req := dpop.Request{Method: "POST", URL: target}
	f.Fuzz(func(t *testing.T, hdr, payload, sig string) {
		if len(hdr) != len(header) {
			// The remembered header, or one of its length with some
			// characters changed: both a hit and a miss are explored.
			hdr = header
		}
		proof := hdr + "." + payload + "." + sig
		remembering, _ := dpop.NewVerifier(clock)
		if _, err := remembering.Verify(ctx, warm, req); err != nil || !dpop.HeaderCached(remembering, warm) {
			t.Fatalf("warm-up: %v", err)
		}
		fresh, _ := dpop.NewVerifier(clock)
		hit := dpop.HeaderCached(remembering, proof)
		p1, err1 := remembering.Verify(ctx, proof, req)
		p2, err2 := fresh.Verify(ctx, proof, req)
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("remembered header (hit %v): %v; new: %v", hit, err1, err2)
		}
		if err1 == nil && (p1.JKT == "" || p1.ID == "" || p1.JKT != p2.JKT || p1.ID != p2.ID || p1.IssuedAt != p2.IssuedAt) {
			t.Fatalf("accepted %+v and %+v", p1, p2)
		}
	})
}

// FuzzStrictBase64URL: a segment is accepted exactly when the strict
// decoder of the standard library takes it and it holds no line break
// (which that decoder skips).
func FuzzStrictBase64URL(f *testing.F) {
	for _, s := range []string{"", "A", "AA", "AB", "AAA", "AAB", "AAAA", "e30", "e30=", "e3\n0", "a.b", "-_-_"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := base64.RawURLEncoding.Strict().DecodeString(s)
		want := err == nil && !strings.ContainsAny(s, "\r\n")
		if got := dpop.StrictBase64URL(s); got != want {
			t.Fatalf("StrictBase64URL(%q) = %v, want %v", s, got, want)
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
