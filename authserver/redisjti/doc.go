// Package redisjti keeps the jtis of private_key_jwt client assertions in
// Redis for the auth server (authserver.Config.AssertionReplay), so that an
// assertion accepted by one auth server instance is refused by every other
// one on the same Redis within its lifetime (RFC 7523 §3, item 7).
//
//	rs, err := redisjti.New(rdb) // the client the deny list uses
//	srv, err := authserver.New(ctx, authserver.Config{..., AssertionReplay: rs})
//
// Each jti is one key, set with SET NX PX: the first instance to set it
// wins, atomically, and the key lives for the assertion's remaining
// lifetime plus the verifier's leeway (the server passes that TTL), so
// Redis forgets it once the assertion can no longer verify anywhere. The
// key names the client (escaped) and the SHA-256 of the jti, so that
// neither the client id nor the jti can be confused with another's.
//
// # When Redis is unreachable
//
// [Store.Use] returns an error, and the auth server refuses the assertion
// with 503 temporarily_unavailable: accepting it could let it be replayed
// against another instance (fail closed). Client secrets and every other
// grant are unaffected. The per-client quota of unexpired jtis stays in
// each instance's own cache, in front of Redis.
//
// The Redis client is github.com/redis/go-redis/v9, as for
// revocation/redislist; package authserver itself links no Redis client.
package redisjti
