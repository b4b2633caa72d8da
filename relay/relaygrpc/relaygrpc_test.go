package relaygrpc_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/relay/relaygrpc"
	"github.com/gatehousehq/gatehouse/token"
)

// grpcEnv is a health server on a bufconn listener whose interceptors
// record the authorization metadata and refuse calls without want.
type grpcEnv struct {
	mu    sync.Mutex
	seen  [][]string
	want  string
	calls int
}

func (g *grpcEnv) check(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	auth := md.Get("authorization")
	g.seen = append(g.seen, auth)
	if len(auth) != 1 || auth[0] != "Bearer "+g.want {
		return status.Error(codes.Unauthenticated, "bad token")
	}
	return nil
}

func newGRPC(t *testing.T, want string, src relay.Source) (*grpcEnv, healthpb.HealthClient) {
	t.Helper()
	g := &grpcEnv{want: want}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if err := g.check(ctx); err != nil {
				return nil, err
			}
			return h(ctx, req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if err := g.check(ss.Context()); err != nil {
				return err
			}
			return h(srv, ss)
		}),
	)
	hs := health.NewServer()
	hs.SetServingStatus("profiles", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(relaygrpc.UnaryClientInterceptor(src)),
		grpc.WithStreamInterceptor(relaygrpc.StreamClientInterceptor(src)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return g, healthpb.NewHealthClient(conn)
}

func TestGRPCUnaryAndStream(t *testing.T) {
	g, client := newGRPC(t, "caller-token", relay.Relay{})
	ctx := token.NewContext(context.Background(), "caller-token", nil)
	// Credentials already in the outgoing metadata are replaced.
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer incoming", "x-request-id", "42")

	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "profiles"})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v %v", resp, err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.Watch(sctx, &healthpb.HealthCheckRequest{Service: "profiles"})
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := stream.Recv(); err != nil || msg.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Watch: %v %v", msg, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calls != 2 {
		t.Fatalf("%d calls reached the server, want 2", g.calls)
	}
	for _, auth := range g.seen {
		if len(auth) != 1 || auth[0] != "Bearer caller-token" {
			t.Fatalf("server saw authorization %q", auth)
		}
	}
}

func TestGRPCWithoutTokenSendsNothing(t *testing.T) {
	g, client := newGRPC(t, "caller-token", relay.Relay{})
	_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if !errors.Is(err, relay.ErrNoToken) {
		t.Fatalf("Check: got %v, want ErrNoToken", err)
	}
	_, err = client.Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if !errors.Is(err, relay.ErrNoToken) {
		t.Fatalf("Watch: got %v, want ErrNoToken", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calls != 0 {
		t.Fatalf("%d calls reached the server", g.calls)
	}
}

// TestGRPCRenewsOnUnauthenticated: a unary call refused with
// Unauthenticated is made once more with a fresh token.
func TestGRPCRenewsOnUnauthenticated(t *testing.T) {
	src := &staticSource{tokens: []string{"stale", "fresh", "fresher"}}
	g, client := newGRPC(t, "fresh", src)
	if _, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "profiles"}); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	calls := g.calls
	g.want = "other" // from now on every token is refused
	g.mu.Unlock()
	if calls != 2 {
		t.Fatalf("%d calls, want 2 (one retry)", calls)
	}
	_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "profiles"})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("got %v, want Unauthenticated", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calls != 4 {
		t.Fatalf("%d calls, want 4: one retry per call, never more", g.calls)
	}
}

// staticSource hands out tokens in order: Token the current one, Renew
// the next.
type staticSource struct {
	tokens []string
	i      atomic.Int64
}

func (s *staticSource) Token(context.Context) (string, error) {
	return s.tokens[min(int(s.i.Load()), len(s.tokens)-1)], nil
}

func (s *staticSource) Renew(ctx context.Context, refused string) (string, error) {
	s.i.CompareAndSwap(s.i.Load(), s.i.Load()+1)
	return s.Token(ctx)
}
