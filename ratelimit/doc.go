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
//	rdb, err := redisconn.Open("rediss://gw:secret@redis.internal:6379/0")
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
// Each decision is one round trip: EVALSHA of a short Lua script that reads,
// decides and writes atomically, timed by the Redis server's clock (TIME),
// so gateway instances with skewed clocks still share one limit. Keys expire
// when their bucket is full again. When Redis cannot be reached the limiter
// fails open (default) or closed ([WithFailureMode]), logs the outage
// ([WithLogger]), counts it ([Redis.Stats]) and marks the decision
// Degraded; the next call tries Redis again.
//
// The client is github.com/redis/go-redis/v9, not rueidis: the limiter needs
// one EVALSHA per decision and nothing of rueidis's client-side caching;
// go-redis gives the Scripter interface that covers a single server, a
// cluster and a ring, the EVALSHA-then-EVAL fallback (redis.Script.Run) and a
// ParseURL that takes ACL users and rediss:// as they are.
package ratelimit
