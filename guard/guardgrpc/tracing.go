package guardgrpc

import (
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/gatehousehq/gatehouse/internal/tracing"
)

// StatsHandler returns the server option that makes each call a server
// span of otelgrpc's stats handler (otelgrpc.NewServerHandler), with tp's
// tracer (nil: the global provider, otel.GetTracerProvider(), as
// guard.New finds it) and the global propagator, so that a call that
// carries a traceparent continues its caller's trace. The guard's spans,
// guard.verify and guard.authorize, are children of that span: give the
// server and the guard (guard.WithTracerProvider) the same provider.
// opts are more otelgrpc options (otelgrpc.WithFilter,
// otelgrpc.WithMeterProvider, ...), applied after gatehouse's.
//
//	srv := grpc.NewServer(guardgrpc.StatsHandler(tp),
//		grpc.ChainUnaryInterceptor(guardgrpc.UnaryServerInterceptor(g)),
//		grpc.ChainStreamInterceptor(guardgrpc.StreamServerInterceptor(g)))
//
// When tp does not export (a noop provider, or the global one before
// otel.SetTracerProvider: the option is built once, with the server),
// StatsHandler returns grpc.EmptyServerOption{}: nothing is wrapped and an
// untraced server pays nothing.
func StatsHandler(tp trace.TracerProvider, opts ...otelgrpc.Option) grpc.ServerOption {
	tp = tracing.Provider(tp)
	if !tracing.Enabled(tp) {
		return grpc.EmptyServerOption{}
	}
	return grpc.StatsHandler(otelgrpc.NewServerHandler(append([]otelgrpc.Option{
		otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(otel.GetTextMapPropagator()),
	}, opts...)...))
}
