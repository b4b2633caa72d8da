package guardgrpc_test

import (
	"context"
	"fmt"

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
