// Package demo runs the four sample scenarios of gatehouse end to end, in
// one process on 127.0.0.1: the auth server, the gateway and the sample
// services that `gatehouse demo` starts and that [Walkthrough] exercises.
// The walkthrough numbers them 000 to 003.
//
// The sample services are the examples users copy, one short file each:
//
//   - accounts and admin (000, a service token between services): accounts
//     takes the user's token, mints an HS256 service token for admin
//     (relay.Mint with a shared secret), admin verifies it and checks through
//     the cached identity store that the account is in group admin. Both
//     answer an AccountsResponse, also for refusals (guard.WithErrorWriter).
//   - users and profiles (001, token relay): users relays the caller's token
//     to profiles from several goroutines (errgroup), behind relay's timeout,
//     retries and circuit breaker.
//   - orders and legacy (002, organization-scoped data): orders filters by
//     the caller's organization (guard.Org) and answers another
//     organization's order like a missing one; legacy is a tiny session
//     service (RFC 7662 introspection) whose opaque session tokens the auth
//     server exchanges for JWTs.
//   - orders and payments (003, gateway, rules and mTLS): method rules (scope
//     orders:read to read, admin or owner to delete), payments called with
//     client credentials (no user) or token exchange (act names orders).
//   - the browser app (002 and 003; app.go and app/): a
//     single-page app at the gateway's /app/ that logs in with the code
//     flow and PKCE (oidc-client-ts), uses orders through the gateway,
//     renews its one-minute access tokens in the background with the
//     rotating refresh token, and logs out at the auth server.
//
// # Ports
//
// [PortsFor] maps a base (default 9000) to every listener: auth = base,
// gateway = base-920 (8080), gateway admin = base-921 (8079), and the
// services from base+101: accounts 9101, admin 9102, users 9103, profiles
// 9104, orders 9105, payments 9106, legacy 9107, and the browser app's file
// server 9108, which the gateway serves at /app/ (app.go). Base 0 picks
// random free ports for all of them (tests).
//
// # Use
//
//	err := demo.Run(ctx, demo.Config{PortBase: 9000, Data: "gatehouse-demo", Out: os.Stdout})
//
// starts everything, prints the guide and returns when ctx ends. [Start]
// returns the running [Env] instead, for [Walkthrough] and tests:
//
//	env, err := demo.Start(ctx, demo.Config{Data: dir, Out: io.Discard})
//	defer env.Close()
//	err = demo.Walkthrough(ctx, env, os.Stdout) // one line per step; nil if every step behaved
//
// # Its own data, never a real store
//
// The demo reseeds the users and clients of its store at every start, so
// it writes only into a store it created. Its data folder (default
// ./gatehouse-demo, [DefaultData]) must be new or empty, and then gets the
// [MarkerFile], or already hold that marker; any other folder, a real
// store above all, is refused before anything is written, with an error
// wrapping [ErrNotDemoData] that says what to do (datadir.go). With
// PostgreSQL the first schema of the URL's search_path plays the folder's
// part and [MarkerTable] the marker's (database.go). [IsDemoFolder] and
// [IsDemoDatabase] let 'gatehouse serve' refuse a demo store in turn.
package demo
