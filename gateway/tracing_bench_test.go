package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// BenchmarkHandlerTracing is BenchmarkHandler with tracing: in one loop,
// one request through a bare httputil.ReverseProxy (the floor), through
// the gateway without a tracer provider that exports (off: nothing is
// wrapped), and through gateways whose SDK tracer provider samples with
// ParentBased(TraceIDRatioBased(1.0)) and (0.01), spans batched to an
// exporter that drops them. It reports each per request and each over the
// floor, so that load on the machine hits all alike.
func BenchmarkHandlerTracing(b *testing.B) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id":42}`))
	}))
	defer upstream.Close()
	uurl, _ := url.Parse(upstream.URL)
	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(uurl); pr.SetXForwarded() }, Transport: newTransport()}

	iss := tokentest.NewIssuer(b, tokentest.WithAudience("gateway"))
	gateway := func(tp trace.TracerProvider) http.Handler {
		cfg := mustParse(b, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
routes:
  - name: orders
    path: /api/orders
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {scopes: ["orders:read"]}
    forward_claims: {X-Gatehouse-Subject: sub}
    rate_limit: {key: client_id, replenish_rate: 1000000, burst_capacity: 1000000}
`, map[string]string{"ISS": iss.URL, "U": upstream.URL})
		gw, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), TracerProvider: tp})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { gw.Close() })
		return gw.Handler()
	}
	sampled := func(ratio float64) trace.TracerProvider {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
			sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))))
		b.Cleanup(func() { tp.Shutdown(context.Background()) })
		return tp
	}
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{"bare", bare},
		{"off", gateway(nil)}, // the global provider, never set here: off
		{"ratio1", gateway(sampled(1))},
		{"ratio0.01", gateway(sampled(0.01))},
	}
	tok := "Bearer " + iss.Token(token.Claims{Subject: "alice", ClientID: "web", Scope: "orders:read"})
	one := func(b *testing.B, h http.Handler) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, "GET", "/api/orders/42", nil)
		r.Header.Set("Authorization", tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	took := make([]time.Duration, len(handlers))
	for b.Loop() {
		for i, h := range handlers {
			t0 := time.Now()
			one(b, h.h)
			took[i] += time.Since(t0)
		}
	}
	for i, h := range handlers {
		b.ReportMetric(float64(took[i].Nanoseconds())/float64(b.N), h.name+"-ns/req")
		if i > 0 {
			b.ReportMetric(float64(took[i])/float64(took[0]), h.name+"/bare")
		}
	}
}
