package ratelimit

import (
	"net/http"
	"strconv"
	"time"
)

// WriteHeaders adds to h the header fields of draft-ietf-httpapi-ratelimit-headers
// (-11) for d, and Retry-After (RFC 9110 §10.2.3) when d refuses:
//
//	RateLimit-Policy: "orders";q=20;w=2     the policy (§3): quota q requests per window w seconds
//	RateLimit: "orders";r=0;t=1             the service limit (§4): r requests left, window t seconds
//	Retry-After: 1                          only when refused and waiting helps
//
// For a bucket of BurstCapacity b tokens filling at ReplenishRate ρ per
// second, with RequestedTokens c per request, q = ⌊b/c⌋ and w = ⌈b/ρ⌉ (at
// least 1), which never overstates the sustained rate. r is
// [Decision.Remaining]; t is the time until the next request may pass when
// r = 0 (so it never exceeds Retry-After, §6), and otherwise the time until
// the bucket is full again but no less than the time that earns r requests,
// so that r/t never promises more than the sustained rate (§8.5). Both are
// rounded up to whole seconds. A degraded decision writes the policy only:
// its counts are unknown; so does a refusal that no wait can turn (more
// requests at once than the burst, or a deny-all policy). A zero Decision
// (the one returned with an error) writes nothing.
//
// The two list fields are added (not set), so a response subject to several
// policies (say, a global and a per-route one) may carry all of them;
// Retry-After is set to the longest wait of the refusing decisions. The
// partition key parameter (pk) is never written: keys may identify users.
func WriteHeaders(h http.Header, d Decision) {
	if d == (Decision{}) {
		return
	}
	p := d.Limit
	g, err := p.gcra()
	if err != nil {
		return // a Decision not made by a limiter of this package
	}
	buf := make([]byte, 0, 96)
	buf = appendItem(buf, p.name())
	buf = append(buf, ";q="...)
	buf = strconv.AppendInt(buf, g.quota, 10)
	if g.tau > 0 {
		buf = append(buf, ";w="...)
		buf = strconv.AppendInt(buf, max(ceilSeconds(time.Duration(g.tau)), 1), 10)
	}
	h.Add("RateLimit-Policy", string(buf))

	if !d.Allowed && d.RetryAfter > 0 {
		secs := ceilSeconds(d.RetryAfter)
		if old, err := strconv.ParseInt(h.Get("Retry-After"), 10, 64); err != nil || old < secs {
			h.Set("Retry-After", strconv.FormatInt(secs, 10))
		}
	}
	if d.Degraded || (!d.Allowed && d.RetryAfter == 0) {
		return
	}

	buf = appendItem(buf[:0], p.name())
	buf = append(buf, ";r="...)
	buf = strconv.AppendInt(buf, int64(d.Remaining), 10)
	if g.tau > 0 {
		one := g.requested * g.interval // what one request costs
		var t int64
		if d.Remaining == 0 {
			// Time until one request fits: diff + one − tau.
			t = max(int64(d.ResetAfter)+one-g.tau, 0)
		} else {
			t = max(int64(d.ResetAfter), int64(d.Remaining)*one)
		}
		if !d.Allowed && d.RetryAfter > 0 {
			t = min(t, int64(d.RetryAfter))
		}
		buf = append(buf, ";t="...)
		buf = strconv.AppendInt(buf, ceilSeconds(time.Duration(t)), 10)
	}
	h.Add("RateLimit", string(buf))
}

// appendItem appends a structured-field String (RFC 9651 §3.3.3). Policy
// names hold no '"' or '\', which Validate refuses.
func appendItem(buf []byte, name string) []byte {
	buf = append(buf, '"')
	buf = append(buf, name...)
	return append(buf, '"')
}

// ceilSeconds rounds d up to whole seconds, the delay-seconds of RFC 9110.
func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}
