package ratelimit

import (
	"net/http"
	"regexp"
	"testing"
	"time"
)

func TestWriteHeaders(t *testing.T) {
	orders := Policy{Name: "orders", ReplenishRate: 10, BurstCapacity: 20}
	perMinute := Policy{ReplenishRate: 1, BurstCapacity: 60, RequestedTokens: 60}
	ms := time.Millisecond
	tests := []struct {
		name                      string
		d                         Decision
		policy, limit, retryAfter string
	}{
		{
			name:   "full bucket: t is the time that earns r, never r/0",
			d:      Decision{Allowed: true, Remaining: 19, ResetAfter: 100 * ms, Limit: orders},
			policy: `"orders";q=20;w=2`, limit: `"orders";r=19;t=2`,
		},
		{
			name:   "mostly spent: t is the time until full",
			d:      Decision{Allowed: true, Remaining: 2, ResetAfter: 1800 * ms, Limit: orders},
			policy: `"orders";q=20;w=2`, limit: `"orders";r=2;t=2`,
		},
		{
			name:   "last one taken: t is the time until the next",
			d:      Decision{Allowed: true, Remaining: 0, ResetAfter: 2000 * ms, Limit: orders},
			policy: `"orders";q=20;w=2`, limit: `"orders";r=0;t=1`,
		},
		{
			name:   "refused",
			d:      Decision{Allowed: false, Remaining: 0, RetryAfter: 40 * ms, ResetAfter: 1940 * ms, Limit: orders},
			policy: `"orders";q=20;w=2`, limit: `"orders";r=0;t=1`, retryAfter: "1",
		},
		{
			name:   "one per minute, refused",
			d:      Decision{Allowed: false, RetryAfter: 59500 * ms, ResetAfter: 59500 * ms, Limit: perMinute},
			policy: `"default";q=1;w=60`, limit: `"default";r=0;t=60`, retryAfter: "60",
		},
		{
			name:   "refused n>1 with some left: t is within Retry-After",
			d:      Decision{Allowed: false, Remaining: 5, RetryAfter: 300 * ms, ResetAfter: 1500 * ms, Limit: orders},
			policy: `"orders";q=20;w=2`, limit: `"orders";r=5;t=1`, retryAfter: "1",
		},
		{
			name:   "deny all: no window, no Retry-After, no count",
			d:      Decision{Limit: Policy{Name: "blocked"}},
			policy: `"blocked";q=0`,
		},
		{
			name:   "more than the burst at once: no wait helps, so no r or t that promise one",
			d:      Decision{Limit: orders},
			policy: `"orders";q=20;w=2`,
		},
		{
			name: "zero decision (returned with an error): nothing",
			d:    Decision{},
		},
		{
			name:   "fast policy: w at least 1",
			d:      Decision{Allowed: true, Remaining: 0, ResetAfter: 100 * ms, Limit: Policy{ReplenishRate: 10, BurstCapacity: 1}},
			policy: `"default";q=1;w=1`, limit: `"default";r=0;t=1`,
		},
		{
			name:   "degraded, open: policy only",
			d:      Decision{Allowed: true, Degraded: true, Limit: orders},
			policy: `"orders";q=20;w=2`,
		},
		{
			name:   "degraded, closed",
			d:      Decision{Allowed: false, Degraded: true, RetryAfter: time.Second, Limit: orders},
			policy: `"orders";q=20;w=2`, retryAfter: "1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			WriteHeaders(h, tt.d)
			if got := h.Get("RateLimit-Policy"); got != tt.policy {
				t.Errorf("RateLimit-Policy = %q, want %q", got, tt.policy)
			}
			if got := h.Get("RateLimit"); got != tt.limit {
				t.Errorf("RateLimit = %q, want %q", got, tt.limit)
			}
			if got := h.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

func TestWriteHeadersSeveralPolicies(t *testing.T) {
	global := Policy{Name: "global", ReplenishRate: 100, BurstCapacity: 100}
	route := Policy{Name: "route", ReplenishRate: 1, BurstCapacity: 5}
	h := http.Header{}
	WriteHeaders(h, Decision{Allowed: false, RetryAfter: 3 * time.Second, ResetAfter: 5 * time.Second, Limit: route})
	WriteHeaders(h, Decision{Allowed: false, RetryAfter: 10 * time.Millisecond, ResetAfter: time.Second, Limit: global})
	if got := h.Values("RateLimit-Policy"); len(got) != 2 || got[0] != `"route";q=5;w=5` || got[1] != `"global";q=100;w=1` {
		t.Errorf("RateLimit-Policy = %q", got)
	}
	if got := h.Values("RateLimit"); len(got) != 2 {
		t.Errorf("RateLimit = %q", got)
	}
	if got := h.Values("Retry-After"); len(got) != 1 || got[0] != "3" {
		t.Errorf("Retry-After = %q, want the longest wait, once", got)
	}
}

func TestWriteHeadersFromLimiter(t *testing.T) {
	// What a client sees for Spring's example, end to end on a fake clock.
	m, clk := newMemory(t, Policy{Name: "api", ReplenishRate: 10, BurstCapacity: 3})
	var last http.Header
	for range 4 {
		last = http.Header{}
		WriteHeaders(last, allow(t, m, "k", 1))
	}
	if got := last.Get("RateLimit"); got != `"api";r=0;t=1` {
		t.Errorf("RateLimit = %q", got)
	}
	if got := last.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q", got)
	}
	clk.Advance(time.Second)
	h := http.Header{}
	WriteHeaders(h, allow(t, m, "k", 1))
	if got := h.Get("RateLimit"); got != `"api";r=2;t=1` {
		t.Errorf("after a second, RateLimit = %q", got)
	}
}

func TestWriteHeadersIgnoresForeignDecision(t *testing.T) {
	h := http.Header{}
	WriteHeaders(h, Decision{Limit: Policy{Name: `bad"name`, BurstCapacity: 1, ReplenishRate: 1}})
	if len(h) != 0 {
		t.Errorf("wrote %v for an invalid policy", h)
	}
}

// The shapes of draft-ietf-httpapi-ratelimit-headers-11 §3 and §4.
var (
	policyField = regexp.MustCompile(`^"[A-Za-z0-9._-]{1,64}";q=(0|[1-9][0-9]{0,14})(;w=[1-9][0-9]{0,14})?$`)
	limitField  = regexp.MustCompile(`^"[A-Za-z0-9._-]{1,64}";r=(0|[1-9][0-9]{0,14})(;t=(0|[1-9][0-9]{0,14}))?$`)
	delaySecs   = regexp.MustCompile(`^[1-9][0-9]*$`)
)
