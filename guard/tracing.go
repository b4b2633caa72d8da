package guard

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/internal/tracing"
	"github.com/gatehousehq/gatehouse/token"
)

// OpenTelemetry: the guard adds two spans to a request that is traced
// already (its context carries a recording span: the server span of
// otelhttp.NewHandler, of otelgrpc's stats handler, or the gateway's), and
// counts its refusals. It starts no server span of its own and links only
// the OpenTelemetry API, so an untraced request costs one context lookup.
//
//	guard.verify     the token check: gatehouse.token.cached (answered by
//	                 the verified-token cache), gatehouse.outcome (valid,
//	                 invalid, unavailable), gatehouse.token.error (the
//	                 token package's error kind, "token expired"), gatehouse.token.jti and
//	                 gatehouse.client_id when valid. Never the token, never
//	                 the subject or another claim value.
//	guard.authorize  the rule: gatehouse.outcome (allowed, refused) and
//	                 gatehouse.refusal.reason.
//
// The metric gatehouse.guard.refusals (Prometheus:
// gatehouse_guard_refusals_total{reason}) counts every refusal.

// Span and attribute names of the guard's spans.
const (
	spanVerify    = "guard.verify"
	spanAuthorize = "guard.authorize"

	attrOutcome    = attribute.Key("gatehouse.outcome")
	attrCached     = attribute.Key("gatehouse.token.cached")
	attrTokenError = attribute.Key("gatehouse.token.error")
	attrJTI        = attribute.Key("gatehouse.token.jti")
	attrClientID   = attribute.Key("gatehouse.client_id")
	attrReason     = attribute.Key("gatehouse.refusal.reason")
)

// WithTracerProvider sets the provider of the guard's spans (default: the
// global one, otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(g *Guard) error {
		if tp == nil {
			return errors.New("guard: nil tracer provider")
		}
		g.tel.tp = tp
		return nil
	})
}

// WithMeterProvider sets the provider of the guard's metric,
// gatehouse.guard.refusals (default: the global one,
// otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(g *Guard) error {
		if mp == nil {
			return errors.New("guard: nil meter provider")
		}
		g.tel.mp = mp
		return nil
	})
}

// telemetry is the guard's tracer and refusal counter.
type telemetry struct {
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	tracer   trace.Tracer
	refusals metric.Int64Counter
	byReason map[Reason]metric.AddOption // the attribute set of each reason, built once
}

// reasons are the guard's refusal reasons, whose attribute sets are built
// once.
var reasons = []Reason{ReasonNoToken, ReasonInvalidRequest, ReasonInvalidToken, ReasonUnavailable,
	ReasonInsufficientScope, ReasonForbidden, ReasonNotFound, ReasonInternal}

// init builds the tracer and the counter, after the options.
func (t *telemetry) init() error {
	tp := tracing.Provider(t.tp)
	t.tracer = tp.Tracer(tracing.Scope + "/guard")
	mp := t.mp
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	c, err := mp.Meter(tracing.Scope+"/guard").Int64Counter("gatehouse.guard.refusals",
		metric.WithDescription("Requests the guard refused, by reason."), metric.WithUnit("{request}"))
	if err != nil {
		return errors.New("guard: refusal counter: " + err.Error())
	}
	t.refusals = c
	t.byReason = make(map[Reason]metric.AddOption, len(reasons))
	for _, r := range reasons {
		t.byReason[r] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", string(r))))
	}
	return nil
}

// refused counts a refusal.
func (t *telemetry) refused(ctx context.Context, r Reason) {
	opt, ok := t.byReason[r]
	if !ok {
		opt = metric.WithAttributes(attribute.String("reason", string(r)))
	}
	t.refusals.Add(ctx, 1, opt)
}

// verifyToken checks raw with the verifier, in a guard.verify span when
// the request is traced.
func (g *Guard) verifyToken(ctx context.Context, raw string) (*token.Claims, error) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return g.v.Verify(ctx, raw)
	}
	ctx, span := g.tel.tracer.Start(ctx, spanVerify)
	defer span.End()
	c, cached, err := g.v.VerifyHit(ctx, raw)
	span.SetAttributes(attrCached.Bool(cached))
	if err != nil {
		outcome, kind := "invalid", "invalid token"
		if _, status := token.ErrorCode(err); status == http.StatusServiceUnavailable {
			outcome = "unavailable"
		}
		var te *token.Error
		if errors.As(err, &te) && te.Kind != nil {
			kind = te.Kind.Error() // "token expired", "bad signature", ...
		}
		span.SetAttributes(attrOutcome.String(outcome), attrTokenError.String(kind))
		// The token package's reasons never quote the token.
		span.SetStatus(codes.Error, tokenRefusal(err).Detail)
		return nil, err
	}
	span.SetAttributes(attrOutcome.String("valid"))
	if c.ID != "" {
		span.SetAttributes(attrJTI.String(c.ID))
	}
	if c.ClientID != "" {
		span.SetAttributes(attrClientID.String(c.ClientID))
	}
	return c, nil
}

// evaluate applies rule to r, in a guard.authorize span when the request
// is traced.
func (g *Guard) evaluate(rule Rule, r *http.Request, p *Principal) *Refusal {
	if !trace.SpanFromContext(r.Context()).IsRecording() {
		return asRefusal(rule(r, p))
	}
	ctx, span := g.tel.tracer.Start(r.Context(), spanAuthorize)
	defer span.End()
	ref := asRefusal(rule(r.WithContext(ctx), p))
	if ref != nil {
		span.SetAttributes(attrOutcome.String("refused"), attrReason.String(string(ref.Reason)))
		span.SetStatus(codes.Error, string(ref.Reason))
		return ref
	}
	span.SetAttributes(attrOutcome.String("allowed"))
	return nil
}
