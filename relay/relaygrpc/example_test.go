package relaygrpc_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/relay/relaygrpc"
)

// A service passes its caller's token on to the profiles service over
// gRPC: every call made with the request's context carries it.
func ExampleUnaryClientInterceptor() {
	conn, err := grpc.NewClient("dns:///profiles.internal:9443",
		grpc.WithTransportCredentials(insecure.NewCredentials()), // mTLS in production (package workload)
		grpc.WithUnaryInterceptor(relaygrpc.UnaryClientInterceptor(relay.Relay{})),
		grpc.WithStreamInterceptor(relaygrpc.StreamClientInterceptor(relay.Relay{})))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	// profiles := profilespb.NewProfilesClient(conn); profiles.Get(r.Context(), ...)
}

// A traced connection: each call is a client span of otelgrpc under the
// span of the request the service serves, and sends its traceparent.
// With a provider that does not export, WithStatsHandler adds nothing.
func ExampleWithStatsHandler() {
	tp := sdktrace.NewTracerProvider() // the program's SDK TracerProvider
	defer tp.Shutdown(context.Background())
	conn, err := grpc.NewClient("dns:///profiles.internal:9443",
		grpc.WithTransportCredentials(insecure.NewCredentials()), // mTLS in production (package workload)
		relaygrpc.WithStatsHandler(tp),
		grpc.WithUnaryInterceptor(relaygrpc.UnaryClientInterceptor(relay.Relay{})),
		grpc.WithStreamInterceptor(relaygrpc.StreamClientInterceptor(relay.Relay{})))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
}
