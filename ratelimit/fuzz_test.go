package ratelimit

import (
	"math"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// FuzzKey: Key is injective (checked by inverting it) and its output is
// printable ASCII with exactly one ':'.
func FuzzKey(f *testing.F) {
	for _, s := range [][2]string{
		{"ip", "192.0.2.1"}, {"ip", "2001:db8::1"}, {"claim:org", "acme"}, {"claim", "org:acme"},
		{"header:X-Api-Key", "k\x00\xff%3A"}, {"", ""}, {"%", "%25"}, {"sub", "é"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, kind, value string) {
		k := Key(kind, value)
		for i := 0; i < len(k); i++ {
			if k[i] <= ' ' || k[i] >= 0x7f {
				t.Fatalf("Key(%q, %q) = %q holds byte %#x", kind, value, k, k[i])
			}
		}
		gotKind, gotValue, err := parseKey(k)
		if err != nil {
			t.Fatalf("Key(%q, %q) = %q: %v", kind, value, k, err)
		}
		if gotKind != kind || gotValue != value {
			t.Fatalf("Key(%q, %q) = %q, which reads back as (%q, %q)", kind, value, k, gotKind, gotValue)
		}
	})
}

// FuzzWriteHeaders: whatever a limiter decides under whatever valid policy,
// the fields have the draft's syntax and Retry-After is never earlier than
// the effective window.
func FuzzWriteHeaders(f *testing.F) {
	f.Add(10.0, 20, 1, 1, int64(0), 0)
	f.Add(1.0, 60, 60, 1, int64(59*time.Second), 1)
	f.Add(0.5, 1, 0, 3, int64(time.Hour), 2)
	f.Add(1e6, 1000, 7, 200, int64(time.Millisecond), 5)
	f.Add(0.0, 0, 0, 1, int64(0), 1)
	f.Fuzz(func(t *testing.T, rate float64, burst, requested, n int, advance int64, calls int) {
		p := Policy{Name: "fuzz", ReplenishRate: rate, BurstCapacity: burst, RequestedTokens: requested}
		if p.Validate() != nil || n < 1 || calls < 0 || calls > 50 || advance < 0 || advance > int64(math.MaxInt64/64) {
			t.Skip()
		}
		m, clk := newMemory(t, p, WithMaxKeys(4))
		var d Decision
		for range calls + 1 {
			d = allow(t, m, "k", n)
			clk.Advance(time.Duration(advance))
		}
		h := http.Header{}
		WriteHeaders(h, d)
		if v := h.Get("RateLimit-Policy"); !policyField.MatchString(v) {
			t.Fatalf("RateLimit-Policy: %q", v)
		}
		hopeless := !d.Allowed && d.RetryAfter == 0 // no wait makes it pass: no count is written
		if v := h.Get("RateLimit"); hopeless && v != "" || !hopeless && !limitField.MatchString(v) {
			t.Fatalf("RateLimit: %q for %+v", v, d)
		}
		ra := h.Get("Retry-After")
		if ra != "" && !delaySecs.MatchString(ra) {
			t.Fatalf("Retry-After: %q", ra)
		}
		if d.Allowed && ra != "" || !d.Allowed && d.RetryAfter > 0 && ra == "" {
			t.Fatalf("Retry-After %q for %+v", ra, d)
		}
		if m := limitField.FindStringSubmatch(h.Get("RateLimit")); ra != "" && m[3] != "" {
			tsecs, _ := strconv.Atoi(m[3])
			rsecs, _ := strconv.Atoi(ra)
			if tsecs > rsecs {
				t.Fatalf("t=%d later than Retry-After %d (draft §6)", tsecs, rsecs)
			}
		}
		if d.Remaining < 0 || d.RetryAfter < 0 || d.ResetAfter < 0 {
			t.Fatalf("negative field in %+v", d)
		}
	})
}
