package relay

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/internal/tracing"
)

// OpenTelemetry. With a tracer provider that exports ([WithTracerProvider],
// ExchangeConfig.TracerProvider, ClientCredentialsConfig.TracerProvider, or
// the global one set before the constructor runs), each attempt of a call
// is a client span of otelhttp.NewTransport, under the caller's span, and
// the downstream service receives the W3C trace context (traceparent,
// baggage: the global propagator). A token endpoint call of an [Exchange]
// or a [ClientCredentials] is a span of its own, relay.exchange or
// relay.client_credentials (gatehouse.relay.grant, gatehouse.outcome:
// issued, refused, error), over the client span of the POST, which the auth
// server continues. Without such a provider nothing is wrapped.
//
// The metric gatehouse.relay.calls (Prometheus: gatehouse_relay_calls_total
// {outcome}) counts every call through a [Transport] by outcome: ok (a
// response below 500), server_error (5xx), timeout, circuit_open,
// token_error (no token for the call), error.

const (
	spanExchange          = "relay.exchange"
	spanClientCredentials = "relay.client_credentials"
	attrGrant             = attribute.Key("gatehouse.relay.grant")
	attrOutcome           = attribute.Key("gatehouse.outcome")
)

// WithTracerProvider sets the provider of the client spans (default: the
// global one, otel.GetTracerProvider(), as the constructor finds it).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) error {
		if tp == nil {
			return relayErr("nil tracer provider")
		}
		c.tel.tp = tp
		return nil
	})
}

// WithMeterProvider sets the provider of the metric gatehouse.relay.calls
// (default: the global one, otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) error {
		if mp == nil {
			return relayErr("nil meter provider")
		}
		c.tel.mp = mp
		return nil
	})
}

// The outcomes of gatehouse.relay.calls.
var outcomes = []string{"ok", "server_error", "timeout", "circuit_open", "token_error", "error"}

// telemetry is a Resilient's tracer provider and call counter.
type telemetry struct {
	tp        trace.TracerProvider
	mp        metric.MeterProvider
	on        bool
	calls     metric.Int64Counter
	byOutcome map[string]metric.AddOption
}

func (t *telemetry) init() error {
	t.tp = tracing.Provider(t.tp)
	t.on = tracing.Enabled(t.tp)
	mp := t.mp
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	c, err := mp.Meter(tracing.Scope+"/relay").Int64Counter("gatehouse.relay.calls",
		metric.WithDescription("Calls through relay transports, by outcome."), metric.WithUnit("{call}"))
	if err != nil {
		return relayErr("call counter: %w", err)
	}
	t.calls = c
	t.byOutcome = make(map[string]metric.AddOption, len(outcomes))
	for _, o := range outcomes {
		t.byOutcome[o] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", o)))
	}
	return nil
}

// wrap puts base in client spans when tracing is on.
func (t *telemetry) wrap(base http.RoundTripper) http.RoundTripper {
	if !t.on {
		return base
	}
	return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(t.tp), otelhttp.WithPropagators(otel.GetTextMapPropagator()))
}

// count records the outcome of one call.
func (t *telemetry) count(ctx context.Context, resp *http.Response, err error) {
	if t.calls == nil {
		return
	}
	t.calls.Add(ctx, 1, t.byOutcome[outcomeOf(resp, err)])
}

func outcomeOf(resp *http.Response, err error) string {
	switch {
	case err == nil && resp.StatusCode >= 500:
		return "server_error"
	case err == nil:
		return "ok"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	case errors.Is(err, ErrCircuitOpen):
		return "circuit_open"
	}
	var te *TokenError
	if errors.As(err, &te) || errors.Is(err, ErrTokenExpired) || errors.Is(err, ErrNoToken) {
		return "token_error"
	}
	return "error"
}

// RoundTrip sends req with a token of t's source (transport.go) and counts
// the call's outcome.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.roundTrip(req)
	if r, ok := t.next.(*Resilient); ok {
		r.cfg.tel.count(req.Context(), resp, err)
	}
	return resp, err
}

// traceTokenClient returns hc (a tokenClient) whose calls are spans named
// span, over otelhttp client spans, when tp exports; else hc.
func traceTokenClient(hc *http.Client, tp trace.TracerProvider, span, grant string) *http.Client {
	tp = tracing.Provider(tp)
	if !tracing.Enabled(tp) {
		return hc
	}
	c := *hc
	inner := otelhttp.NewTransport(hc.Transport, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(otel.GetTextMapPropagator()))
	c.Transport = &tokenSpans{next: inner, tracer: tp.Tracer(tracing.Scope + "/relay"), name: span,
		grant: attrGrant.String(grant)}
	return &c
}

// tokenSpans puts each token endpoint call in a span of its own.
type tokenSpans struct {
	next   http.RoundTripper
	tracer trace.Tracer
	name   string
	grant  attribute.KeyValue
}

func (t *tokenSpans) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, span := t.tracer.Start(req.Context(), t.name, trace.WithAttributes(t.grant))
	defer span.End()
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	switch {
	case err != nil:
		span.SetAttributes(attrOutcome.String("error"))
		span.SetStatus(codes.Error, "the token endpoint could not be reached")
	case resp.StatusCode == http.StatusOK:
		span.SetAttributes(attrOutcome.String("issued"))
	case resp.StatusCode >= 500:
		span.SetAttributes(attrOutcome.String("error"))
		span.SetStatus(codes.Error, resp.Status)
	default:
		span.SetAttributes(attrOutcome.String("refused"))
		span.SetStatus(codes.Error, resp.Status)
	}
	return resp, err
}
