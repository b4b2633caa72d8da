package demo

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestOneTrace: one walkthrough request, alice paying order A-1001, is one
// trace: the gateway's server span, its guard and rate limit, its client
// span to orders; orders' server span, its guard, the token exchange
// (relay.exchange → POST → the auth server's span → authserver.grant) and
// its client span to payments; payments' server span and guard. Each link
// is asserted as a parent, not only the trace id.
func TestOneTrace(t *testing.T) {
	t.Parallel()
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(t.Context()) })
	env := startDemo(t, Config{TracerProvider: tp})

	w := &walker{ctx: t.Context(), env: env, out: io.Discard, hc: newTestClient()}
	payer, r := w.password("alice", url.Values{"audience": {"api", "orders"}})
	if payer == "" {
		t.Fatalf("password grant: %d %s", r.status, r.body)
	}
	exp.Reset()
	r = w.do("POST", env.GatewayURL+"/api/orders/A-1001/pay", payer, nil)
	if r.status != http.StatusOK {
		t.Fatalf("pay: %d %s", r.status, r.body)
	}
	// The server spans end after the answer is sent: wait for the root.
	var spans tracetest.SpanStubs
	for deadline := time.Now().Add(5 * time.Second); ; {
		spans = exp.GetSpans()
		if root := rootsOf(spans); len(root) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // stragglers of the same trace
	spans = exp.GetSpans()

	roots := rootsOf(spans)
	if len(roots) != 1 {
		t.Fatalf("%d root spans, want 1 (the gateway's):\n%s", len(roots), describe(spans))
	}
	root := roots[0]
	for _, s := range spans {
		if s.SpanContext.TraceID() != root.SpanContext.TraceID() {
			t.Errorf("span %q is in trace %s, not the request's %s", s.Name, s.SpanContext.TraceID(), root.SpanContext.TraceID())
		}
		for _, a := range s.Attributes {
			if strings.Contains(a.Value.String(), payer) {
				t.Errorf("span %q attribute %s holds the access token", s.Name, a.Key)
			}
		}
	}
	if root.Name != "POST /api/orders/" || root.SpanKind != trace.SpanKindServer || !hasAttr(root, "gatehouse.route", "orders") {
		t.Errorf("root span %q (%v), want the gateway's server span POST /api/orders/ with gatehouse.route=orders", root.Name, root.SpanKind)
	}
	tree := &spanTree{t: t, spans: spans}
	tree.child(root, "guard.verify", nil)
	tree.child(root, "gateway.ratelimit", nil)
	gwOut := tree.child(root, "", func(s tracetest.SpanStub) bool { return s.SpanKind == trace.SpanKindClient })
	orders := tree.child(gwOut, "orders POST /api/orders/{id}/pay", nil)
	if !hasAttr(orders, "gatehouse.service", "orders") {
		t.Errorf("orders' server span lacks gatehouse.service=orders")
	}
	tree.child(orders, "guard.verify", nil)
	tree.child(orders, "guard.authorize", nil)
	ex := tree.child(orders, "relay.exchange", nil)
	exOut := tree.child(ex, "", func(s tracetest.SpanStub) bool { return s.SpanKind == trace.SpanKindClient })
	auth := tree.child(exOut, "POST /oauth2/token", nil)
	grant := tree.child(auth, "authserver.grant", nil)
	if !hasAttr(grant, "gatehouse.grant_type", "urn:ietf:params:oauth:grant-type:token-exchange") || !hasAttr(grant, "gatehouse.outcome", "issued") {
		t.Errorf("authserver.grant attributes %v, want the token exchange grant, issued", grant.Attributes)
	}
	payOut := tree.child(orders, "", func(s tracetest.SpanStub) bool { return s.SpanKind == trace.SpanKindClient })
	payments := tree.child(payOut, "payments POST /payments/{order}", nil)
	tree.child(payments, "guard.verify", nil)
	if t.Failed() {
		t.Logf("spans:\n%s", describe(spans))
	}
}

// spanTree finds the children of spans.
type spanTree struct {
	t     *testing.T
	spans tracetest.SpanStubs
}

// child returns the one child of parent named name (any name when empty)
// that match accepts (any when nil), and fails the test without one.
func (st *spanTree) child(parent tracetest.SpanStub, name string, match func(tracetest.SpanStub) bool) tracetest.SpanStub {
	st.t.Helper()
	for _, s := range st.spans {
		if s.Parent.SpanID() == parent.SpanContext.SpanID() && s.Parent.IsValid() &&
			(name == "" || s.Name == name) && (match == nil || match(s)) {
			return s
		}
	}
	st.t.Errorf("no child span %q of %q", name, parent.Name)
	return tracetest.SpanStub{}
}

func rootsOf(spans tracetest.SpanStubs) (roots tracetest.SpanStubs) {
	for _, s := range spans {
		if !s.Parent.IsValid() {
			roots = append(roots, s)
		}
	}
	return roots
}

func hasAttr(s tracetest.SpanStub, key, value string) bool {
	for _, a := range s.Attributes {
		if a.Key == attribute.Key(key) {
			return a.Value.String() == value
		}
	}
	return false
}

func describe(spans tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.SpanContext.SpanID().String() + " ← " + s.Parent.SpanID().String() + " " + s.SpanKind.String() + " " + s.Name + "\n")
	}
	return b.String()
}
