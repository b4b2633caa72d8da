package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
	"github.com/gatehousehq/gatehouse/tracelog"
)

// TestTraceContinuesAndLogs: a request with a traceparent continues its
// trace through the gateway (server span, then the client span whose
// traceparent the upstream receives), and the access log line carries the
// trace's ids.
func TestTraceContinuesAndLogs(t *testing.T) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	var mu sync.Mutex
	var got string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Get("Traceparent")
		mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	defer upstream.Close()
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	cfg := mustParse(t, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
routes:
  - {name: orders, path: /api/orders, upstreams: ["{{U}}"], auth: jwt}
`, map[string]string{"ISS": iss.URL, "U": upstream.URL})
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	var logs bytes.Buffer
	var logMu sync.Mutex
	gw, err := New(context.Background(), cfg, Options{TracerProvider: tp,
		Logger: slog.New(tracelog.NewHandler(slog.NewJSONHandler(lockedWriter{&logMu, &logs}, nil)))})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	r := httptest.NewRequest("GET", "/api/orders/1", nil)
	r.Header.Set("Authorization", "Bearer "+iss.Token(token.Claims{Subject: "alice"}))
	r.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	w := httptest.NewRecorder()
	gw.Handler().ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	mu.Lock()
	if !strings.HasPrefix(got, "00-"+traceID+"-") || strings.Contains(got, "00f067aa0ba902b7") {
		t.Errorf("upstream got traceparent %q, want the trace %s with the gateway's client span", got, traceID)
	}
	mu.Unlock()
	var server, client bool
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID().String() != traceID {
			t.Errorf("span %s in trace %s", s.Name, s.SpanContext.TraceID())
		}
		server = server || s.Name == "GET /api/orders/" && s.Parent.SpanID().String() == "00f067aa0ba902b7"
		client = client || s.SpanKind.String() == "client"
	}
	if !server || !client {
		t.Errorf("spans (server child of the caller's %v, client %v): %v", server, client, exp.GetSpans())
	}
	logMu.Lock()
	defer logMu.Unlock()
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" {
			line = m
		}
	}
	if line["trace_id"] != traceID || line["span_id"] == nil {
		t.Errorf("access log line %v, want trace_id %s and span_id", line, traceID)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
