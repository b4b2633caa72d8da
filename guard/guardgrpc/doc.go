// Package guardgrpc puts a guard (package guard) in front of a gRPC
// server: interceptors that check the bearer token of every call and the
// rule of its method, as guard.Guard.Middleware does for net/http. It is a
// package of its own so that a service on net/http alone does not link
// gRPC.
//
// The guard is built as for HTTP; rules are keyed by full method name
// with guard.WithMethods, and guard.WithDefaultDeny refuses the methods
// without one:
//
//	g, err := guard.New(verifier, guard.WithMethods(map[string]guard.Rule{
//		"/orders.v1.Orders/Get":        guard.Scope("orders:read"),
//		"/orders.v1.Orders/Delete":     guard.Role("admin"),
//		"/grpc.health.v1.Health/Check": guard.Public,
//	}))
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(guardgrpc.UnaryServerInterceptor(g)),
//		grpc.ChainStreamInterceptor(guardgrpc.StreamServerInterceptor(g)))
//
// The token comes from the "authorization" metadata ("Bearer ..."; two
// entries are refused). A handler finds the caller with
// guard.PrincipalFrom(ctx) and the raw token with token.FromContext(ctx),
// where package relay's gRPC interceptors (relay/relaygrpc) find it to
// pass it on. Refusals are the statuses Unauthenticated, PermissionDenied,
// NotFound, Unavailable and Internal ([Code]), with the refusal's detail
// as message, never the token; each is one audit event in the guard's log.
//
// # Tracing
//
// [StatsHandler] is the server option of otelgrpc's stats handler with a
// tracer provider: each call is a server span that continues the trace of
// the call's traceparent (sent by relaygrpc.WithStatsHandler, or any
// otelgrpc client), and the guard's spans, guard.verify and
// guard.authorize, are its children. Give it the guard's provider
// (guard.WithTracerProvider, or nil for the global one of both):
//
//	srv := grpc.NewServer(guardgrpc.StatsHandler(tp),
//		grpc.ChainUnaryInterceptor(guardgrpc.UnaryServerInterceptor(g)),
//		grpc.ChainStreamInterceptor(guardgrpc.StreamServerInterceptor(g)))
//
// With a provider that does not export, it is an empty option, and the
// guard starts no span (it adds spans to a traced call only).
package guardgrpc
