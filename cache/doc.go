// Package cache is a two-tier cache for lookups that every request makes and
// that change seldom: accounts, their groups and roles, OAuth clients. It
// plays the part of the Hazelcast map of the accounts → admin scenario: what
// one service fetched, another does not fetch again.
//
// # Tiers
//
// Each [Cache] keeps a bounded local tier in the process (an otter cache,
// github.com/maypok86/otter/v2, with per-entry expiry) in front of a shared
// tier, the [Backend]:
//
//   - [Memory]: the shared tier is in the process, for one machine. Every
//     Cache of a name on one Memory shares it, so two services in one
//     process fetch once; invalidations reach them synchronously.
//   - [Redis]: the shared tier is Redis, for several processes. Values are
//     stored as JSON with the TTL; invalidations are published to every
//     process, which drops its local copy when the message arrives
//     (milliseconds on a healthy network, one second at most by contract).
//
// A lookup goes local tier → shared tier → load function, and fills the
// tiers on the way back:
//
//	backend, _ := cache.NewRedis(rdb)            // once per process
//	users, _ := cache.New[*identity.User]("users", backend,
//		cache.WithTTL(time.Minute),
//		cache.WithNegative(identity.ErrNotFound, 5*time.Second))
//	u, err := users.Get(ctx, id, func(ctx context.Context) (*identity.User, error) {
//		return store.UserByID(ctx, id)
//	})
//	...
//	err = users.Invalidate(ctx, id) // after a write; every process drops it
//
// Package identity/cachedstore puts these caches in front of an identity
// store (users by ID and by username, clients by ID), with invalidation on
// every write.
//
// # Guarantees
//
//   - Entries live at most their TTL in either tier; a local copy never
//     outlives the shared entry it came from.
//   - A load error that matches the configured "not found" error is cached
//     as a negative entry with its own, short TTL; other errors are not
//     cached.
//   - One load runs per key and process at a time (singleflight): 50
//     concurrent misses of a key make one call of load. A caller whose
//     context ends stops waiting; the load goes on, bounded by
//     [WithLoadTimeout], for the others.
//   - A load that raced with an invalidation of its key never stores what it
//     read: each Redis key has a generation counter that Invalidate bumps
//     and the fill checks atomically (a Lua script), and the local tier has
//     an epoch that does the same.
//   - A process that loses its subscription may have missed invalidations:
//     until it has subscribed again it bypasses both tiers and calls load,
//     and once subscribed it drops its whole local tier. When Redis cannot
//     be reached the cache degrades to calling load; it never fails a
//     lookup that the load function can answer.
//
// Values in the local tier are shared by every caller: treat them as
// read-only, or copy them (cachedstore.Store returns copies).
//
// # Why go-redis and pub/sub, not rueidis client-side caching
//
// rueidis's server-assisted client-side caching (CLIENT TRACKING) is an
// elegant fit for a two-tier cache, and was considered. The client here is
// github.com/redis/go-redis/v9 with one pub/sub channel for invalidations,
// for these reasons:
//
//   - One Redis client per process. Package ratelimit already uses
//     go-redis (EVALSHA per decision, Scripter over single server, Cluster
//     and Ring), and package revocation needs pub/sub with a resync on
//     reconnect anyway; cmd/gatehouse opens one *redis.Client from one URL
//     and hands it to all three. Two client libraries would mean two
//     connection pools, two sets of URL/TLS/ACL/Sentinel options and two
//     failure behaviours to document.
//   - The local tier must be ours anyway: tracking invalidates keys that
//     were read through rueidis's own cache, whose values are raw Redis
//     replies; we also need negative entries with their own TTL, a bounded
//     size with a good eviction policy (otter's adaptive W-TinyLFU), a fill that is
//     checked against concurrent invalidation, and the ability to bypass
//     the local tier while disconnected. With tracking, rueidis's cache
//     would be a third tier to reason about.
//   - Explicit messages say what happened. Tracking tells a client that a
//     key it read changed; a published invalidation names the cache and the
//     keys, and the loss of the subscription is visible to us, so the
//     "drop everything after a reconnect" rule is ours to implement and
//     test (see the tests that kill the subscription connection).
//
// The cost is one PUBLISH per write and one subscription connection per
// [Redis] backend — writes to accounts and clients are rare.
//
// # Metrics
//
// [Cache.Stats] and [Redis.Stats] return plain counters (hits, misses,
// shared-tier hits, loads, load errors, invalidations, backend errors), the
// way ratelimit.Stats does: the library does not import a metrics system,
// and cmd/gatehouse exports each counter with a prometheus CounterFunc.
package cache
