package relaygrpc_test

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
	"google.golang.org/grpc/test/bufconn"

	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/relay/relaygrpc"
	"github.com/gatehousehq/gatehouse/token"
)

// checkWith calls Check once with ctx on a health server over a bufconn
// connection opened with co and relaygrpc's interceptor, and returns the
// traceparent and authorization the server received.
func checkWith(t *testing.T, ctx context.Context, co grpc.DialOption) (traceparent, auth string) {
	t.Helper()
	var mu sync.Mutex
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		mu.Lock()
		if v := md.Get("traceparent"); len(v) > 0 {
			traceparent = v[0]
		}
		if v := md.Get("authorization"); len(v) > 0 {
			auth = v[0]
		}
		mu.Unlock()
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient("passthrough:///bufnet", co,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(relaygrpc.UnaryClientInterceptor(relay.Relay{})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("Check: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return traceparent, auth
}

// TestWithStatsHandler: a call is a client span under the span of its
// context, and the server receives its traceparent next to the token.
func TestWithStatsHandler(t *testing.T) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	ctx, parent := tp.Tracer("test").Start(token.NewContext(context.Background(), "tok", nil), "handler")
	traceparent, auth := checkWith(t, ctx, relaygrpc.WithStatsHandler(tp))
	parent.End()
	if auth != "Bearer tok" {
		t.Errorf("authorization %q", auth)
	}
	var client tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindClient {
			client = s
		}
	}
	if client.Name != "grpc.health.v1.Health/Check" || len(exp.GetSpans()) != 2 {
		t.Fatalf("client span %q of %d spans", client.Name, len(exp.GetSpans()))
	}
	if client.Parent.SpanID() != parent.SpanContext().SpanID() || client.SpanContext.TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("client span's parent %s, want the handler's span %s", client.Parent.SpanID(), parent.SpanContext().SpanID())
	}
	want := "00-" + client.SpanContext.TraceID().String() + "-" + client.SpanContext.SpanID().String() + "-01"
	if traceparent != want {
		t.Errorf("traceparent %q, want %q", traceparent, want)
	}
}

// TestWithStatsHandlerOff: a provider that does not export wraps nothing;
// a call under a recording span sends no traceparent.
func TestWithStatsHandlerOff(t *testing.T) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	for name, tp := range map[string]trace.TracerProvider{"noop": noop.NewTracerProvider(), "global unset": nil} {
		if _, ok := relaygrpc.WithStatsHandler(tp).(grpc.EmptyDialOption); !ok {
			t.Errorf("%s: WithStatsHandler wraps", name)
		}
	}
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("test").Start(token.NewContext(context.Background(), "tok", nil), "handler")
	defer span.End()
	if traceparent, _ := checkWith(t, ctx, relaygrpc.WithStatsHandler(noop.NewTracerProvider())); traceparent != "" {
		t.Errorf("untraced connection sent traceparent %q", traceparent)
	}
}
