package relaygrpc_test

import (
	"context"
	"errors"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/relay/relaygrpc"
)

// dpopSource is a relay.BoundSource whose tokens are DPoP-bound.
type dpopSource struct{ s *dpop.Signer }

func (d dpopSource) Token(context.Context) (string, error) { return "dpop-bound", nil }
func (d dpopSource) DPoPSigner() *dpop.Signer              { return d.s }

// A DPoP-bound token has no proof on a gRPC call: refused before anything
// is sent, unary and stream.
func TestGRPCRefusesDPoPBoundTokens(t *testing.T) {
	s, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	g, client := newGRPC(t, "dpop-bound", dpopSource{s: s})
	if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{}); !errors.Is(err, relaygrpc.ErrDPoP) {
		t.Fatalf("Check: %v, want ErrDPoP", err)
	}
	if _, err := client.Watch(context.Background(), &healthpb.HealthCheckRequest{}); !errors.Is(err, relaygrpc.ErrDPoP) {
		t.Fatalf("Watch: %v, want ErrDPoP", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calls != 0 {
		t.Fatalf("%d calls reached the server", g.calls)
	}
}
