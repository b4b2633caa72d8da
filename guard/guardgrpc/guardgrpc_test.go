package guardgrpc_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/guard/guardcel"
	"github.com/gatehousehq/gatehouse/guard/guardgrpc"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

const audience = "orders"

// fixture is a fake issuer and a guard for its tokens.
type fixture struct {
	iss *tokentest.Issuer
	g   *guard.Guard
	log *syncBuffer
}

func newFixture(t testing.TB, opts ...guard.Option) *fixture {
	t.Helper()
	iss := tokentest.NewIssuer(t, tokentest.WithAudience(audience))
	f := &fixture{iss: iss, log: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(f.log, nil))
	g, err := guard.New(iss.Verifier(), append([]guard.Option{guard.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.g = g
	return f
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// alice is a user of organization acme.
var alice = token.Claims{
	Subject: "alice", ClientID: "spa", Email: "alice@acme.test", Org: "acme",
	Scope: "openid orders:read", Roles: []string{"user"}, Groups: []string{"staff"},
}

// down is a key source that cannot be reached.
type down struct{}

func (down) Key(context.Context, string) (*keys.Key, error) {
	return nil, fmt.Errorf("fetch https://issuer.example/jwks: connection refused: %w", keys.ErrUnavailable)
}

const (
	methodCheck = "/grpc.health.v1.Health/Check"
	methodWatch = "/grpc.health.v1.Health/Watch"
	methodList  = "/grpc.health.v1.Health/List"
)

// seen records what the handlers found in their context.
type seen struct {
	mu      sync.Mutex
	subject string
	raw     string
}

// startGRPC serves the standard health service behind g on an in-memory
// connection and returns a client.
func startGRPC(t *testing.T, g *guard.Guard, s *seen) healthpb.HealthClient {
	t.Helper()
	record := func(ctx context.Context) {
		p, ok := guard.PrincipalFrom(ctx)
		raw, _, _ := token.FromContext(ctx)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.subject, s.raw = "", raw
		if ok {
			s.subject = p.Subject
		}
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(guardgrpc.UnaryServerInterceptor(g),
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
				record(ctx)
				return h(ctx, req)
			}),
		grpc.ChainStreamInterceptor(guardgrpc.StreamServerInterceptor(g),
			func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
				record(ss.Context())
				return h(srv, ss)
			}),
	)
	hs := health.NewServer()
	hs.SetServingStatus("orders", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return healthpb.NewHealthClient(conn)
}

func withToken(raw ...string) context.Context {
	ctx := context.Background()
	for _, r := range raw {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+r)
	}
	return ctx
}

func TestGRPC(t *testing.T) {
	f := newFixture(t, guard.WithMethods(map[string]guard.Rule{
		methodCheck: guard.Role("monitor"),
		methodWatch: guard.Scope("health:watch"),
		methodList:  guard.Public,
	}))
	s := &seen{}
	client := startGRPC(t, f.g, s)
	monitor := f.iss.Token(token.Claims{Subject: "prometheus", Roles: []string{"monitor"}, Scope: "health:watch"})
	user := f.iss.Token(alice)

	check := func(ctx context.Context) error {
		_, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "orders"})
		return err
	}
	watch := func(ctx context.Context) error {
		stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "orders"})
		if err != nil {
			return err
		}
		_, err = stream.Recv()
		return err
	}
	list := func(ctx context.Context) error {
		_, err := client.List(ctx, &healthpb.HealthListRequest{})
		return err
	}
	tests := []struct {
		name string
		call func(context.Context) error
		ctx  context.Context
		code codes.Code
		sub  string
	}{
		{"unary allowed", check, withToken(monitor), codes.OK, "prometheus"},
		{"unary no token", check, context.Background(), codes.Unauthenticated, ""},
		{"unary invalid token", check, withToken(f.iss.Expired(alice)), codes.Unauthenticated, ""},
		{"unary two tokens", check, withToken(monitor, monitor), codes.Unauthenticated, ""},
		{"unary role refused", check, withToken(user), codes.PermissionDenied, ""},
		{"stream allowed", watch, withToken(monitor), codes.OK, "prometheus"},
		{"stream no token", watch, context.Background(), codes.Unauthenticated, ""},
		{"stream scope refused", watch, withToken(user), codes.PermissionDenied, ""},
		{"public method", list, context.Background(), codes.OK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			*s = seen{}
			err := tt.call(tt.ctx)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("code %s, want %s (%v)", got, tt.code, err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.subject != tt.sub {
				t.Errorf("principal %q, want %q", s.subject, tt.sub)
			}
			if tt.sub != "" && s.raw != monitor {
				t.Error("token.FromContext does not give the caller's token")
			}
			if err != nil && strings.Contains(err.Error(), "eyJ") {
				t.Errorf("status quotes a token: %v", err)
			}
		})
	}
	if logs := f.log.String(); !strings.Contains(logs, `"route":"/grpc.health.v1.Health/Check"`) || strings.Contains(logs, user) {
		t.Errorf("audit log:\n%s", logs)
	}
}

func TestGRPCDefaultDeny(t *testing.T) {
	f := newFixture(t, guard.WithDefaultDeny(), guard.WithMethods(map[string]guard.Rule{methodCheck: guard.Authenticated()}))
	client := startGRPC(t, f.g, &seen{})
	ctx := withToken(f.iss.Token(alice))
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("listed method: %v", err)
	}
	if _, err := client.List(ctx, &healthpb.HealthListRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("unlisted method: %v", err)
	}
	// Without default deny an unlisted method needs a valid token only.
	f = newFixture(t)
	client = startGRPC(t, f.g, &seen{})
	if _, err := client.List(withToken(f.iss.Token(alice)), &healthpb.HealthListRequest{}); err != nil {
		t.Errorf("unlisted method, default allow: %v", err)
	}
	if _, err := client.List(context.Background(), &healthpb.HealthListRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("unlisted method without token: %v", err)
	}
}

func TestGRPCUnavailable(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience(audience))
	v, _ := token.NewVerifier(down{}, iss.URL, audience)
	g, _ := guard.New(v, guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	client := startGRPC(t, g, &seen{})
	_, err := client.Check(withToken(iss.Token(alice)), &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("code %v", err)
	}
}

// Rules see a gRPC call as its HTTP/2 request: POST to the full method
// name, metadata as headers.
func TestGRPCRuleSeesRequest(t *testing.T) {
	rule, err := guardcel.Expr(`request.method == 'POST' && request.path == '/grpc.health.v1.Health/Check' && request.header['X-Tenant'] == token.org`)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, guard.WithMethods(map[string]guard.Rule{methodCheck: rule}))
	client := startGRPC(t, f.g, &seen{})
	ctx := metadata.AppendToOutgoingContext(withToken(f.iss.Token(alice)), "x-tenant", "acme")
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("allowed call: %v", err)
	}
	ctx = metadata.AppendToOutgoingContext(withToken(f.iss.Token(alice)), "x-tenant", "globex")
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("refused call: %v", err)
	}
}

// Each reason has one gRPC code.
func TestCode(t *testing.T) {
	for _, tt := range []struct {
		reason guard.Reason
		want   codes.Code
	}{
		{guard.ReasonNoToken, codes.Unauthenticated},
		{guard.ReasonInvalidRequest, codes.Unauthenticated},
		{guard.ReasonInvalidToken, codes.Unauthenticated},
		{guard.ReasonUnavailable, codes.Unavailable},
		{guard.ReasonInsufficientScope, codes.PermissionDenied},
		{guard.ReasonForbidden, codes.PermissionDenied},
		{guard.ReasonNotFound, codes.NotFound},
		{guard.ReasonInternal, codes.Internal},
	} {
		if got := guardgrpc.Code(&guard.Refusal{Reason: tt.reason}); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.reason, got, tt.want)
		}
	}
}
