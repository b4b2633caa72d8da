package authserver

import (
	"context"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/internal/tracing"
)

// OpenTelemetry. With a tracer provider that exports (Config.TracerProvider,
// or the global one set before New), [Server.Handler] is wrapped in
// otelhttp.NewHandler: a server span per request (named after the route
// pattern, "POST /oauth2/token", with http.route), continuing the caller's W3C trace context, so that a
// token exchange made by a relay.Exchange is a child of the service that
// asked. The token endpoint adds a span per grant, authserver.grant, with
// gatehouse.grant_type (client_credentials, password, authorization_code,
// refresh_token, token exchange's URN), gatehouse.client_id and
// gatehouse.outcome (issued, or the RFC 6749 error code). Never a token, a
// secret or a password. Audit events are logged with the request's
// context: a logger whose handler is tracelog.NewHandler adds trace_id
// and span_id to them.
//
// The token endpoint's latency is the histogram
// gatehouse.authserver.token_request.duration (seconds; Prometheus:
// gatehouse_authserver_token_request_duration_seconds{grant,outcome}),
// recorded through Config.MeterProvider (default: the global one) whether
// or not tracing is on (metrics.go).

const (
	spanGrant     = "authserver.grant"
	attrGrantType = attribute.Key("gatehouse.grant_type")
	attrClientID  = attribute.Key("gatehouse.client_id")
	attrOutcome   = attribute.Key("gatehouse.outcome")
)

// telemetry is the server's tracer and token endpoint histogram.
type telemetry struct {
	tp       trace.TracerProvider
	on       bool
	tracer   trace.Tracer
	duration metric.Float64Histogram
}

func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider) (*telemetry, error) {
	tp = tracing.Provider(tp)
	t := &telemetry{tp: tp, on: tracing.Enabled(tp), tracer: tp.Tracer(tracing.Scope + "/authserver")}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if err := t.initMetrics(mp); err != nil {
		return nil, err
	}
	return t, nil
}

// traceHandler wraps h in server spans when tracing is on.
func (t *telemetry) traceHandler(h http.Handler) http.Handler {
	if !t.on {
		return h
	}
	// otelhttp names the span after the pattern the mux matched and
	// sets http.route (semantic conventions): "POST /oauth2/token".
	return otelhttp.NewHandler(h, "authserver",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(otel.GetTextMapPropagator()))
}

// startGrant starts the span of one grant at the token endpoint; endGrant
// ends it with its outcome.
func (t *telemetry) startGrant(ctx context.Context, grant, clientID string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	return t.tracer.Start(ctx, spanGrant, trace.WithAttributes(attrGrantType.String(grant), attrClientID.String(clientID)))
}

func (t *telemetry) endGrant(span trace.Span, e *oauthError) {
	if span == nil {
		return
	}
	if e != nil {
		span.SetAttributes(attrOutcome.String(e.Code))
		span.SetStatus(codes.Error, e.Code)
	} else {
		span.SetAttributes(attrOutcome.String("issued"))
	}
	span.End()
}
