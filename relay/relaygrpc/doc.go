// Package relaygrpc sends the tokens of package relay on gRPC calls: client
// interceptors that put, on every call, the token a relay.Source picks as
// "authorization: Bearer ..." metadata. It is a package of its own so that
// a service that calls others over HTTP alone does not link gRPC.
//
// A service behind the guard (package guard/guardgrpc on the server side)
// passes its caller's token on to the next service with relay.Relay, or
// trades it with relay.NewExchange, exactly as for HTTP:
//
//	conn, err := grpc.NewClient(target, creds,
//		grpc.WithUnaryInterceptor(relaygrpc.UnaryClientInterceptor(relay.Relay{})),
//		grpc.WithStreamInterceptor(relaygrpc.StreamClientInterceptor(relay.Relay{})))
//
// and makes each call with the context of the request it serves. A source
// error (relay.ErrNoToken, relay.ErrTokenExpired) fails the call before it
// is sent. A unary call answered Unauthenticated is made once more with a
// renewed token when the source can renew (relay.Renewer). Retries,
// deadlines and circuit breaking of gRPC calls are gRPC's own: its service
// config, and the context's deadline.
//
// # Tracing
//
// [WithStatsHandler] is the dial option of otelgrpc's client stats
// handler with a tracer provider: each call is a client span under the
// span of the call's context, and carries the W3C trace context
// (traceparent) that the server's otelgrpc handler (guardgrpc.StatsHandler)
// continues. With a provider that does not export, it is an empty option.
//
// # Bound tokens
//
// DPoP-bound tokens (a source with ExchangeConfig.DPoP or
// ClientCredentialsConfig.DPoP) are refused with [ErrDPoP]: RFC 9449
// proofs name an HTTP method and URL, which a gRPC call does not have.
// Certificate-bound tokens (relay.MTLS) work over a connection whose
// transport credentials present the same workload certificate:
//
//	creds := credentials.NewTLS(workload.ClientConfig(identity, bundle, authorize))
//
// A gRPC connection keeps the certificate it was opened with, while the
// source fetches a token bound to the new certificate as soon as the
// identity renews it: until the connection is opened again, the server
// refuses the new token (and the call is renewed once, in vain). Make
// connections shorter-lived than half the SVID's lifetime (the server's
// keepalive.ServerParameters.MaxConnectionAge), so that every connection
// presents a current certificate.
package relaygrpc
