// Package redislist shares a revocation deny list (package revocation)
// between processes through Redis: the auth server adds an entry, and
// every gateway and service that checks tokens against the same list
// refuses the token within a second.
//
//	list, err := redislist.New(rdb)   // a *revocation.List, FailClosed by default
//	v, err := token.NewVerifier(src, issuer, audience, token.WithRevoker(list))
//	defer revocation.ForgetIn(list, v)()
//
// # Push, and resync after a loss
//
// [New] returns a revocation.List whose Add writes the entry to Redis and
// publishes it in one Lua script; every process subscribed to the channel
// applies it when the message arrives (milliseconds; the contract is one
// second). Pub/sub does not replay what a disconnected subscriber missed,
// so after every subscription — the first one and each one after a lost
// connection — the list reloads every entry from Redis before it counts as
// synced again. A silent connection is found by a PING after
// [WithHealthCheck] without traffic. Checks never wait for Redis: they
// read the list in memory.
//
// # When Redis is unreachable
//
// While the list is not synced, Revoked answers by the failure mode
// ([WithFailureMode]): revocation.FailClosed answers
// revocation.ErrUnavailable (503 at the guard and the gateway) for every
// token the local list does not already revoke; revocation.FailOpen
// answers from the local list as it was. Add applies the entry here and
// returns an error wrapping revocation.ErrUnavailable: the other processes
// do not have it yet.
//
// The Redis client is github.com/redis/go-redis/v9, shared with packages
// ratelimit and cache (see the cache package for the choice over rueidis).
package redislist
