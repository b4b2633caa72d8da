package relaygrpc_test

import (
	"fmt"

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
