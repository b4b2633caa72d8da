// Package cachedstore puts an identity store behind a shared cache, so
// that the services of one deployment do not each ask the store again for
// the users and clients another one has just read.
//
// Service A (accounts) looks up the calling account and calls service B
// (admin), which looks the same account up to check its groups. Without a
// cache both read the store on every request; with a [Store] on a backend
// they share (cache.NewMemory in one process, cache.NewRedis across
// processes) the first read fills the cache and the others are served
// from it until the TTL:
//
//	backend, err := cache.NewRedis(rdb)
//	users, err := cachedstore.New(store, backend, cache.WithTTL(time.Minute))
//	u, err := users.UserByID(ctx, id) // the store once per TTL, not once per request
//
// Writes through the Store (users and clients created, replaced,
// disabled, deleted) invalidate what they changed in every process on the
// backend; a write that reached the store but not the shared tier returns
// an error wrapping [ErrNotInvalidated]. The cache never holds password
// or client secret hashes: credential checks read the store
// (identity.CredentialReader).
//
// It is a package of its own so that the identity types (package
// identity), which every service imports, link no Redis client.
package cachedstore
