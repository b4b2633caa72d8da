package guardgrpc_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/guard/guardgrpc"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// A gRPC server behind the guard: the health check needs no token, reading
// orders needs a scope, every other method is refused.
func ExampleUnaryServerInterceptor() {
	ctx := context.Background()
	src, err := keys.NewRemoteFromIssuer(ctx, "https://auth.example")
	if err != nil {
		fmt.Println(err) // a service that must not start without keys stops here
		return
	}
	v, _ := token.NewVerifier(src, "https://auth.example", "orders")
	g, err := guard.New(v, guard.WithDefaultDeny(), guard.WithMethods(map[string]guard.Rule{
		"/grpc.health.v1.Health/Check": guard.Public,
		"/orders.v1.Orders/Get":        guard.Scope("orders:read"),
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(guardgrpc.UnaryServerInterceptor(g)),
		grpc.ChainStreamInterceptor(guardgrpc.StreamServerInterceptor(g)))
	defer srv.Stop()
	// Register the services on srv, then srv.Serve(listener).
}

// A traced gRPC server: each call is a server span of otelgrpc that
// continues its caller's trace, with the guard's spans under it. tp is the
// program's SDK TracerProvider (here a bare one); with a provider that
// does not export, StatsHandler adds nothing.
func ExampleStatsHandler() {
	tp := sdktrace.NewTracerProvider() // sdktrace.WithBatcher(exporter) in production
	defer tp.Shutdown(context.Background())
	src, err := keys.NewRemoteFromIssuer(context.Background(), "https://auth.example")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := token.NewVerifier(src, "https://auth.example", "orders")
	g, err := guard.New(v, guard.WithTracerProvider(tp))
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := grpc.NewServer(guardgrpc.StatsHandler(tp),
		grpc.ChainUnaryInterceptor(guardgrpc.UnaryServerInterceptor(g)),
		grpc.ChainStreamInterceptor(guardgrpc.StreamServerInterceptor(g)))
	defer srv.Stop()
	// Register the services on srv, then srv.Serve(listener).
}
