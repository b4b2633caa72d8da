// Package ratelimit decides whether a request may pass a rate limit, in
// this process ([Memory]) or shared by several processes through Redis
// ([Redis]). The gateway builds keys from requests and writes the answers as
// HTTP header fields; this package knows nothing of routes or requests.
//
// # Policies
//
// A [Policy] has the semantics of Spring Cloud Gateway's RequestRateLimiter:
// a bucket of BurstCapacity tokens per key, refilled at ReplenishRate tokens
// per second, from which each request takes RequestedTokens (default 1).
// BurstCapacity 0 refuses everything. Constructors validate the policy, and
// [Policy.Validate] reports a bad one as a *[PolicyError] naming the field:
//
//	p := ratelimit.Policy{Name: "orders", ReplenishRate: 10, BurstCapacity: 20}
//
// The algorithm is GCRA, the generic cell rate algorithm: the same decisions
// as a token bucket, with one timestamp per key instead of a count and a
// time, and nothing to do for a key that stays idle.
//
// # Deciding
//
// Both limiters implement the one-method [Limiter]. Build one per policy at
// start-up and share it: in memory, for a single gateway instance,
//
//	lim, err := ratelimit.NewMemory(p)
//
// or in Redis, for several instances that share one limit (one client for
// all the policies of the process):
//
//	rdb, err := redisconn.Open("rediss://gw:secret@redis.internal:6379/0") // package redisconn
//	lim, err := ratelimit.NewRedis(rdb, p)
//
// then ask per request, with a key from [Key], and write the answer:
//
//	d, err := lim.Allow(ctx, ratelimit.Key("client_id", clientID), 1)
//	if err != nil {
//		return // the request's context ended
//	}
//	ratelimit.WriteHeaders(w.Header(), d) // RateLimit-Policy, RateLimit, Retry-After
//	if !d.Allowed {
//		// 429 (or 503 when d.Degraded), as application/problem+json
//	}
//
// # Redis
//
// A decision in Redis is one round trip: EVALSHA of a short Lua script that
// reads, decides and writes atomically, timed by the Redis server's clock
// (TIME), so gateway instances with skewed clocks still share one limit.
// Keys expire when their bucket is full again.
//
// A busy key does not pay that round trip per request. With local shares
// (the default, [WithLocalShares]), the round trip that decides a request
// also takes a share of the bucket for this process, when the bucket holds
// both: a few requests' worth, at most 1/16 of the burst and 100 ms of the
// rate, sized by use. The key's next requests are decided from the share
// in process (about 0.6 µs instead of a round trip), and the next share is
// fetched in the background before this one runs out. Every request passed
// was paid for in Redis, so instances together never pass more than the
// limit; near the limit there is no room for shares and every decision is
// a round trip again, exact, with its Retry-After; an unused share is given
// back when it expires (100 ms). Policies too small for a share of 4
// requests never take one. What shares change is the RateLimit header
// fields of decisions made from a share: an estimate from the bucket's
// state when the share was taken. When Redis cannot be reached the limiter
// fails open (default) or closed ([WithFailureMode]), logs the outage
// ([WithLogger]), counts it ([Redis.Stats]) and marks the decision
// Degraded; the next call tries Redis again.
//
// The client is github.com/redis/go-redis/v9, not rueidis: the limiter needs
// one EVALSHA per round trip and nothing of rueidis's client-side caching;
// go-redis gives the Scripter interface that covers a single server, a
// cluster and a ring, the EVALSHA-then-EVAL fallback (redis.Script.Run) and a
// ParseURL that takes ACL users and rediss:// as they are.
package ratelimit
