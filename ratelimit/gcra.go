package ratelimit

import "time"

// gcra holds the parameters of the generic cell rate algorithm (ITU-T
// I.371; the "virtual scheduling" form) for one Policy, in nanoseconds:
//
//	interval  T = 1/ReplenishRate, the time that earns one token
//	tau       τ = BurstCapacity·T, the time that fills an empty bucket
//
// The only state per key is the theoretical arrival time TAT: the moment at
// which the bucket will be full again. A key without state, or whose TAT
// has passed, has a full bucket, so forgetting such a key (eviction, a Redis
// TTL) changes nothing.
//
// A request costing c = tokens·T is allowed at time now when
//
//	max(TAT, now) + c − τ ≤ now
//
// and then TAT becomes max(TAT, now) + c. A refused request changes nothing
// (as in Spring's token bucket, refusals do not drain the bucket). With
// diff = max(TAT, now) − now, the tokens left are ⌊(τ − diff)/T⌋. The Redis
// script (gcra.lua) is the same computation on the server's clock.
type gcra struct {
	interval  int64 // ns per token; 0 only for a deny-all policy
	tau       int64 // ns to fill the bucket; 0 for a deny-all policy
	requested int64 // tokens per request
	quota     int64 // requests in a full bucket: BurstCapacity / requested
}

// take decides a request of cost ns at now, for a key whose TAT is tat
// (found false: no state). It returns the new TAT (tat unchanged when
// refused), whether the request passes, the diff after the decision and,
// when refused, the wait until it would pass.
func (g *gcra) take(tat int64, found bool, now, cost int64) (newTAT int64, ok bool, diff, wait int64) {
	if !found || tat < now {
		tat = now
	}
	diff = tat - now
	if diff > g.tau {
		// Only after the clock stepped back or a policy shrank: treat the
		// bucket as empty rather than refuse for as long as the step.
		diff = g.tau
		tat = now + diff
	}
	if w := diff + cost - g.tau; w > 0 {
		return tat, false, diff, w
	}
	return tat + cost, true, diff + cost, 0
}

// decision turns the outcome of take (here or in Redis) into a Decision.
func (g *gcra) decision(p Policy, ok bool, diff, wait int64) Decision {
	free := max(g.tau-diff, 0) / g.interval // whole tokens in the bucket
	d := Decision{
		Allowed:    ok,
		Remaining:  int(free / g.requested),
		ResetAfter: time.Duration(diff),
		Limit:      p,
	}
	if !ok {
		d.RetryAfter = time.Duration(wait)
	}
	return d
}

// decide is the part of every Allow that needs no state: the count check,
// the deny-all policy and requests larger than the burst. It returns the
// cost in nanoseconds of virtual time, or a final decision (done).
func (g *gcra) decide(p Policy, n int) (cost int64, d Decision, done bool, err error) {
	if n < 1 {
		return 0, Decision{}, true, ErrInvalidCount
	}
	if int64(n) > g.quota { // g.quota is 0 for a deny-all policy
		// Deny all, or more than the burst: no wait makes it pass.
		return 0, Decision{Limit: p}, true, nil
	}
	return int64(n) * g.requested * g.interval, Decision{}, false, nil
}
