package gateway

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/internal/tracing"
	"github.com/gatehousehq/gatehouse/ratelimit"
)

// OpenTelemetry. With a tracer provider that exports (Options.TracerProvider,
// or the global one set before New), the gateway's handler is wrapped in
// otelhttp.NewHandler: a server span per request, continuing the caller's
// W3C trace context (the global propagator, otel.GetTextMapPropagator), named
// after the method and the route's path pattern ("POST /api/orders/"), with
// gatehouse.route (the route's name) and, for a refused request,
// gatehouse.refusal.reason. The upstream transport is
// wrapped in otelhttp.NewTransport: a client span per forwarded request,
// whose traceparent the upstream receives. The guard of each route adds
// guard.verify and guard.authorize, each rate limit a gateway.ratelimit span
// (gatehouse.ratelimit.policy, gatehouse.outcome allowed/limited/error), a
// token exchange the spans of relay.Exchange.
//
// Without one (no SDK set up, or a noop provider) nothing is wrapped: the
// request path is what it is without OpenTelemetry (BENCHMARKS.md).

const (
	spanRateLimit  = "gateway.ratelimit"
	keyRoute       = attribute.Key("gatehouse.route")
	keyRefusal     = attribute.Key("gatehouse.refusal.reason")
	keyOutcome     = attribute.Key("gatehouse.outcome")
	keyLimitPolicy = attribute.Key("gatehouse.ratelimit.policy")
	keyRemaining   = attribute.Key("gatehouse.ratelimit.remaining")
)

// telemetry is the gateway's tracer provider, resolved once by New.
type telemetry struct {
	tp trace.TracerProvider
	on bool // tp exports: wrap the handler and the upstream transport
}

func newTelemetry(tp trace.TracerProvider) telemetry {
	tp = tracing.Provider(tp)
	return telemetry{tp: tp, on: tracing.Enabled(tp)}
}

// traceHandler wraps h in a server span when tracing is on.
func (t telemetry) traceHandler(h http.Handler) http.Handler {
	if !t.on {
		return h
	}
	// otelhttp names the span after the route's path pattern and sets
	// http.route (semantic conventions): "GET /api/orders/".
	return otelhttp.NewHandler(h, "gateway",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(otel.GetTextMapPropagator()))
}

// traceTransport wraps the upstream transport in client spans when tracing
// is on.
func (t telemetry) traceTransport(rt http.RoundTripper) http.RoundTripper {
	if !t.on {
		return rt
	}
	return otelhttp.NewTransport(rt,
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(otel.GetTextMapPropagator()))
}

// traceFinish records the route of a finished request and why it was
// refused.
func traceFinish(ctx context.Context, route, refused string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(keyRoute.String(route))
	if refused != "" {
		span.SetAttributes(keyRefusal.String(refused))
	}
}

// allow asks the limiter, in a gateway.ratelimit span when the request is
// traced.
func (s *limitStep) allow(ctx context.Context, key string) (ratelimit.Decision, error) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return s.lim.Allow(ctx, key, 1)
	}
	ctx, span := parent.TracerProvider().Tracer(tracing.Scope+"/gateway").Start(ctx, spanRateLimit,
		trace.WithAttributes(keyLimitPolicy.String(policyOf(s.lim).Name)))
	defer span.End()
	d, err := s.lim.Allow(ctx, key, 1)
	switch {
	case err != nil || d.Degraded:
		span.SetAttributes(keyOutcome.String("error"))
		span.SetStatus(codes.Error, "the rate limit could not be checked")
	case d.Allowed:
		span.SetAttributes(keyOutcome.String("allowed"), keyRemaining.Int(d.Remaining))
	default:
		span.SetAttributes(keyOutcome.String("limited"))
	}
	return d, err
}
