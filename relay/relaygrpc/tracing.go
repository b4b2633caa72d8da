package relaygrpc

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/gatehousehq/gatehouse/internal/tracing"
)

// WithStatsHandler returns the dial option that makes each call of the
// connection a client span of otelgrpc's stats handler
// (otelgrpc.NewClientHandler), with tp's tracer (nil: the global
// provider, otel.GetTracerProvider()), under the span of the call's
// context, and sends the W3C trace context (traceparent, baggage: the
// global propagator) in the call's metadata, where the server's
// guardgrpc.StatsHandler continues the trace. opts are more otelgrpc
// options, applied after gatehouse's.
//
//	conn, err := grpc.NewClient(target, creds, relaygrpc.WithStatsHandler(tp),
//		grpc.WithUnaryInterceptor(relaygrpc.UnaryClientInterceptor(relay.Relay{})),
//		grpc.WithStreamInterceptor(relaygrpc.StreamClientInterceptor(relay.Relay{})))
//
// A unary call that the interceptor makes once more with a renewed token
// is a second client span. When tp does not export (a noop provider, or
// the global one before otel.SetTracerProvider: the option is built once,
// with the connection), WithStatsHandler returns grpc.EmptyDialOption{}:
// nothing is wrapped.
func WithStatsHandler(tp trace.TracerProvider, opts ...otelgrpc.Option) grpc.DialOption {
	tp = tracing.Provider(tp)
	if !tracing.Enabled(tp) {
		return grpc.EmptyDialOption{}
	}
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler(append([]otelgrpc.Option{
		otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(otel.GetTextMapPropagator()),
	}, opts...)...))
}
