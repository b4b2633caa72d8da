package guardgrpc_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/guard/guardgrpc"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/relay/relaygrpc"
	"github.com/gatehousehq/gatehouse/token"
)

// tracedCall serves the health service behind g on 127.0.0.1 with the
// server option so, calls Check once through relaygrpc's interceptors
// (relaying raw) and the dial option co, and stops the server gracefully,
// so that every span of the call has ended. It returns the traceparent
// the server received ("" without one).
func tracedCall(t *testing.T, g *guard.Guard, so grpc.ServerOption, co grpc.DialOption, raw string) string {
	t.Helper()
	var (
		mu          sync.Mutex
		traceparent string
	)
	srv := grpc.NewServer(so,
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			mu.Lock()
			if v := md.Get("traceparent"); len(v) > 0 {
				traceparent = v[0]
			}
			mu.Unlock()
			return h(ctx, req)
		}, guardgrpc.UnaryServerInterceptor(g)))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), co,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(relaygrpc.UnaryClientInterceptor(relay.Relay{})))
	if err != nil {
		t.Fatal(err)
	}
	// The context of the request the caller serves, which carries its
	// caller's token for relay.Relay.
	ctx := token.NewContext(context.Background(), raw, nil)
	_, callErr := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	conn.Close()
	srv.GracefulStop() // waits for the server's handlers and stats handlers
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if callErr != nil {
		t.Fatalf("Check: %v", callErr)
	}
	mu.Lock()
	defer mu.Unlock()
	return traceparent
}

// TestGRPCOneTrace: a call through relaygrpc to a guardgrpc server is one
// trace: otelgrpc's client span, the server span its child by the
// traceparent the call carries, guard.verify and guard.authorize children
// of the server span.
func TestGRPCOneTrace(t *testing.T) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	f := newFixture(t, guard.WithTracerProvider(tp),
		guard.WithMethods(map[string]guard.Rule{methodCheck: guard.Scope("orders:read")}))
	if _, ok := guardgrpc.StatsHandler(tp).(grpc.EmptyServerOption); ok {
		t.Fatal("StatsHandler of an exporting provider is empty")
	}
	traceparent := tracedCall(t, f.g, guardgrpc.StatsHandler(tp), relaygrpc.WithStatsHandler(tp), f.iss.Token(alice))

	spans := exp.GetSpans()
	var client, server, verify, authorize tracetest.SpanStub
	for _, s := range spans {
		switch {
		case s.SpanKind == trace.SpanKindClient:
			client = s
		case s.SpanKind == trace.SpanKindServer:
			server = s
		case s.Name == "guard.verify":
			verify = s
		case s.Name == "guard.authorize":
			authorize = s
		}
	}
	if len(spans) != 4 || client.Name != "grpc.health.v1.Health/Check" || server.Name != "grpc.health.v1.Health/Check" ||
		verify.Name == "" || authorize.Name == "" {
		for _, s := range spans {
			t.Logf("span %q kind %v", s.Name, s.SpanKind)
		}
		t.Fatalf("%d spans, want the client and server spans of the call, guard.verify and guard.authorize", len(spans))
	}
	id := client.SpanContext.TraceID()
	for _, s := range spans {
		if s.SpanContext.TraceID() != id {
			t.Errorf("span %s is in trace %s, want %s", s.Name, s.SpanContext.TraceID(), id)
		}
	}
	if client.Parent.IsValid() {
		t.Errorf("client span has parent %s, want a root", client.Parent.SpanID())
	}
	if server.Parent.SpanID() != client.SpanContext.SpanID() || !server.Parent.IsRemote() {
		t.Errorf("server span's parent %s (remote %v), want the client span %s", server.Parent.SpanID(), server.Parent.IsRemote(), client.SpanContext.SpanID())
	}
	for _, s := range []tracetest.SpanStub{verify, authorize} {
		if s.Parent.SpanID() != server.SpanContext.SpanID() {
			t.Errorf("%s's parent %s, want the server span %s", s.Name, s.Parent.SpanID(), server.SpanContext.SpanID())
		}
	}
	want := "00-" + id.String() + "-" + client.SpanContext.SpanID().String() + "-01"
	if traceparent != want {
		t.Errorf("server received traceparent %q, want %q", traceparent, want)
	}
}

// TestGRPCTracingOff: with a provider that does not export, or the global
// one before otel.SetTracerProvider, nothing is wrapped: the options are
// empty, the call carries no traceparent, and the guard, whose own
// provider records, starts no span without a server span.
func TestGRPCTracingOff(t *testing.T) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	for name, tp := range map[string]trace.TracerProvider{"noop": noop.NewTracerProvider(), "global unset": nil} {
		if _, ok := guardgrpc.StatsHandler(tp).(grpc.EmptyServerOption); !ok {
			t.Errorf("%s: StatsHandler wraps", name)
		}
		if _, ok := relaygrpc.WithStatsHandler(tp).(grpc.EmptyDialOption); !ok {
			t.Errorf("%s: relaygrpc.WithStatsHandler wraps", name)
		}
	}
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	f := newFixture(t, guard.WithTracerProvider(tp))
	off := noop.NewTracerProvider()
	if tp := tracedCall(t, f.g, guardgrpc.StatsHandler(off), relaygrpc.WithStatsHandler(off), f.iss.Token(alice)); tp != "" {
		t.Errorf("untraced call sent traceparent %q", tp)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans, want none", n)
	}
}
