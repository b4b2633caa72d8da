// Package revocation is the deny list of gatehouse tokens — the no-fly
// list. A JWT is valid until its exp by construction; this list is how a
// token stops working before that: logout, a stolen token, a disabled
// account, a compromised client.
//
// # Entries
//
// An [Entry] revokes one token by its jti ([ByToken], kept until the
// token's exp), or every token of a subject or client issued at or before
// a time ([BySubject], [ByClient]: "every token issued to alice before
// 10:42"). Entries expire ([Entry.Until]) and are pruned, so the list holds
// only what can still be presented.
//
// # Checking
//
// A [List] implements token.Revoker; give it to the verifier:
//
//	list, _ := revocation.NewMemory()      // or redislist.New(rdb), shared
//	v, _ := token.NewVerifier(src, issuer, audience, token.WithRevoker(list))
//
// A check reads the list in memory (a few map lookups; the clock only when
// an entry matches); it never waits for the network. The verifier checks
// the list for cached tokens too, so a revocation holds at once;
// [ForgetIn] also drops revoked tokens from the verifier's cache:
//
//	defer revocation.ForgetIn(list, v)()
//
// # Publishing
//
// The auth server publishes every revocation it records (its revocation
// endpoint, logout everywhere, a reused authorization code) when its
// authserver.Config.Revocations is a List, and adds the stored entries again
// at start; `gatehouse token revoke`, `gatehouse user disable` and
// `gatehouse client delete` publish with --redis. See docs/deployment.md.
//
// # Shared by several processes
//
// [NewShared] shares one list between processes through a [Peer]; package
// revocation/redislist is the peer on Redis (its doc says how entries are
// pushed, and reloaded after a lost connection). Kept apart, so that a
// service that imports the list, the verifier or the guard links no Redis
// client unless it shares the list.
//
// # When the others are unreachable
//
// While a shared list is not synced (at start until the first load, and
// from a lost connection until the resync), [List.Revoked] answers by the
// failure mode:
//
//   - [FailClosed] (default): ErrUnavailable, unless the local list already
//     revokes the token. The verifier reports token.ErrUnavailable and the
//     guard or gateway answers 503: no possibly revoked token passes.
//   - [FailOpen] (redislist.WithFailureMode): the local list as it was.
//     Service continues; a token revoked during the outage is accepted
//     until the resync or its exp. Choose it only where availability
//     matters more than logout.
//
// [List.Add] with the others unreachable applies the entry in this process
// and returns an error wrapping ErrUnavailable: the other processes do not
// have it, so the caller (the auth server's revocation endpoint) answers
// 503 and the client retries; a retry is harmless, entries merge.
//
// # Durability
//
// Redis holds the shared list; a Redis restart without persistence loses
// it. Processes that were running keep what they knew (a resync merges,
// never removes), and the auth server, which records revocations in its
// identity store, should Add the stored entries again at start
// (identity.Store.ListRevocations) so that new processes get them too.
package revocation
