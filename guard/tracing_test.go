package guard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/guard"
)

// traced runs h for a request inside a recording server span of tp, as
// otelhttp.NewHandler would.
func traced(tp trace.TracerProvider, h http.Handler, req *http.Request) {
	ctx, span := tp.Tracer("test").Start(req.Context(), "GET /orders", trace.WithSpanKind(trace.SpanKindServer))
	serve(h, req.WithContext(ctx))
	span.End()
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, a := range s.Attributes() {
		m[a.Key] = a.Value.String()
	}
	return m
}

// TestVerifySpan: a traced request gets guard.verify (cache miss, then
// hit) and guard.authorize, children of the server span; no attribute,
// status or event of any span holds the token, valid or not, nor the
// subject.
func TestVerifySpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFixture(t, guard.WithTracerProvider(tp))
	raw := f.iss.Token(alice)
	expired := f.iss.Expired(alice)
	h := f.g.Require(guard.Scope("orders:write"), http.HandlerFunc(echo))
	traced(tp, h, newRequest("GET", "/orders", bearer(raw)...))
	traced(tp, h, newRequest("GET", "/orders", bearer(raw)...))
	traced(tp, h, newRequest("GET", "/orders", bearer(expired)...))

	var verify, authorize []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		text := s.Name() + " " + s.Status().Description
		for _, a := range s.Attributes() {
			text += " " + a.Value.String()
			if a.Value.String() == alice.Subject {
				t.Errorf("span %s records the subject as %s", s.Name(), a.Key)
			}
		}
		for _, e := range s.Events() {
			text += " " + e.Name
		}
		for _, tok := range []string{raw, expired} {
			for _, part := range strings.Split(tok, ".")[1:] { // payload, signature
				if strings.Contains(text, part) {
					t.Errorf("span %s holds (part of) a token: %s", s.Name(), text)
				}
			}
		}
		switch s.Name() {
		case "guard.verify":
			verify = append(verify, s)
		case "guard.authorize":
			authorize = append(authorize, s)
		}
		if s.Name() != "GET /orders" && !s.Parent().IsValid() {
			t.Errorf("span %s has no parent", s.Name())
		}
	}
	if len(verify) != 3 || len(authorize) != 2 {
		t.Fatalf("%d guard.verify and %d guard.authorize spans, want 3 and 2", len(verify), len(authorize))
	}
	for i, want := range []map[attribute.Key]string{
		{"gatehouse.token.cached": "false", "gatehouse.outcome": "valid", "gatehouse.client_id": "spa"},
		{"gatehouse.token.cached": "true", "gatehouse.outcome": "valid"},
		{"gatehouse.token.cached": "false", "gatehouse.outcome": "invalid", "gatehouse.token.error": "token expired"},
	} {
		got := spanAttrs(verify[i])
		for k, v := range want {
			if got[k] != v {
				t.Errorf("verify span %d: %s = %q, want %q (%v)", i, k, got[k], v, got)
			}
		}
		if _, ok := got["enduser.id"]; ok {
			t.Errorf("verify span %d records the subject", i)
		}
	}
	if got := spanAttrs(authorize[0]); got["gatehouse.outcome"] != "refused" || got["gatehouse.refusal.reason"] != "insufficient_scope" {
		t.Errorf("authorize span %v, want refused for insufficient_scope", got)
	}
}

// TestUntracedRequestHasNoSpans: without a recording span in the request's
// context the guard starts none (no root spans of its own).
func TestUntracedRequestHasNoSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFixture(t, guard.WithTracerProvider(tp))
	if code := get(f.g.Middleware(http.HandlerFunc(echo)), "/orders", bearer(f.iss.Token(alice))...).Code; code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Errorf("%d spans for an untraced request", n)
	}
}

// TestRefusalCounter: gatehouse.guard.refusals counts refusals by reason.
func TestRefusalCounter(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	f := newFixture(t, guard.WithMeterProvider(mp))
	h := f.g.Middleware(http.HandlerFunc(echo))
	get(h, "/orders")
	get(h, "/orders")
	get(h, "/orders", bearer(f.iss.Expired(alice))...)
	get(h, "/orders", bearer(f.iss.Token(alice))...)
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "gatehouse.guard.refusals" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				r, _ := dp.Attributes.Value("reason")
				got[r.AsString()] = dp.Value
			}
		}
	}
	if got["no_token"] != 2 || got["invalid_token"] != 1 || len(got) != 2 {
		t.Errorf("refusals %v, want no_token 2, invalid_token 1", got)
	}
}

func TestNilProviders(t *testing.T) {
	f := newFixture(t)
	if _, err := guard.New(f.iss.Verifier(), guard.WithTracerProvider(nil)); err == nil {
		t.Error("nil tracer provider accepted")
	}
	if _, err := guard.New(f.iss.Verifier(), guard.WithMeterProvider(nil)); err == nil {
		t.Error("nil meter provider accepted")
	}
}
