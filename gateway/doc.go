// Package gateway is the API gateway of gatehouse, the control tower of
// seeds/003: a reverse proxy (net/http/httputil.ReverseProxy with Rewrite)
// whose routes check the caller's JWT and rules before forwarding, and
// protect the upstreams with rate limits, IP lists, CORS and size limits.
// `gatehouse serve` runs it from the gateway section of gatehouse.yaml.
//
// It is built from the other packages, not next to them: token checks and
// rules are package guard's (one guard per trusted issuer and audience, so
// refusals are guard's problem+json with its WWW-Authenticate challenge),
// key sources are package keys's, token exchange is package relay's and
// rate limits are package ratelimit's (GCRA in memory or in Redis).
//
// # Walkthrough
//
//	cfg, err := gateway.ParseConfig("gateway.yaml", data) // "gateway.yaml:12: routes[2].cors: ..."
//	gw, err := gateway.New(ctx, cfg, gateway.Options{Logger: log})
//	defer gw.Close()
//	srv := gw.NewServer() // ReadHeaderTimeout, IdleTimeout, MaxHeaderBytes, TLS from the config
//	go srv.Serve(gw.Listener(ln)) // limits.max_connections_per_ip
//	go http.Serve(adminLn, gw.AdminHandler()) // /metrics /healthz /readyz
//	...
//	err = gw.Reload(ctx, newCfg) // atomic; on error the old configuration stays
//
// # A request's way through
//
// The front door applies what does not depend on the route: the security
// headers, the framing and upgrade checks (headers.go), the bounds on
// reading the body (408), the cap on concurrent requests (503), the method
// (501, methodcheck.go), the URL length (414), the path (400 for a path an
// upstream could read as another route's, pathcheck.go), the client
// address (X-Forwarded-For and Forwarded count only from trusted proxies,
// clientip.go), the global IP lists (403), the global body limit (413) and
// the global rate limit when it is keyed by address or header (429). Then an
// http.ServeMux picks the most specific route by host, method and path (a
// path is a prefix by segments; a pattern is a Go ServeMux pattern), and
// the route applies its IP lists, answers CORS preflights, bounds the body,
// checks the limits keyed by address or header, verifies the token and the
// rules (auth: jwt), checks the limits keyed by the token (sub, client_id,
// claim:NAME), removes incoming headers named in forward_claims and sets
// them from the verified claims, relays, exchanges or strips the token,
// and forwards to the next healthy upstream, round robin. Upstream failures
// are answered 502, timeouts 504, as application/problem+json without
// upstream details.
//
// # Operations
//
// Every request is one slog line (method, route, path, status, duration,
// sub, client, bytes; never a token or the query) and counts in the
// Prometheus metrics of [Gateway.AdminHandler]. See docs/gateway.md for
// every configuration key and examples/gateway.yaml for a whole file.
package gateway
