package demo

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/tracing"
	"github.com/gatehousehq/gatehouse/relay"
)

// Tracing in the demo: one request through the gateway is one trace. The
// gateway, the auth server, every guard and relay transport get the
// demo's tracer provider (Config.TracerProvider, or the global one); each
// sample service's handler is wrapped in otelhttp.NewHandler, whose
// server span continues the traceparent the gateway or the calling
// service sent, named after the service's route pattern, with
// gatehouse.service naming the service (the demo's components share one
// process and so one service.name).

const attrService = attribute.Key("gatehouse.service")

// traced wraps the handler of the sample service name in server spans,
// when tracing is on.
func (p *platform) traced(name string, h http.Handler) http.Handler {
	if !tracing.Enabled(p.tp) {
		return h
	}
	// otelhttp names the span again once the service's mux has matched:
	// "orders POST /api/orders/{id}/pay".
	return otelhttp.NewHandler(h, name,
		otelhttp.WithTracerProvider(p.tp),
		otelhttp.WithPropagators(otel.GetTextMapPropagator()),
		otelhttp.WithSpanOptions(trace.WithAttributes(attrService.String(name))),
		otelhttp.WithSpanNameFormatter(func(op string, r *http.Request) string {
			if r.Pattern != "" {
				return op + " " + r.Pattern
			}
			return op + " " + r.Method
		}))
}

// tracedTransport is base in client spans when tracing is on: the guards'
// JWKS fetches, so that a fetch a request waits for is in its trace.
func tracedTransport(tp trace.TracerProvider, base http.RoundTripper) http.RoundTripper {
	if !tracing.Enabled(tp) {
		return base
	}
	return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(otel.GetTextMapPropagator()))
}

// traceHint is the guide's line on traces.
func traceHint(on bool) string {
	if on {
		return "Traces: each request is one trace across gateway, services and auth server, exported over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318); in Jaeger: http://localhost:16686, service gatehouse."
	}
	return "Traces: start a collector (docker run --rm -p 16686:16686 -p 4318:4318 jaegertracing/jaeger:latest), run gatehouse demo --otel, open http://localhost:16686."
}

// relayOpts are the options of every relay transport of the demo.
func (p *platform) relayOpts(opts ...relay.Option) []relay.Option {
	return append(opts, relay.WithTracerProvider(p.tp))
}

// guardOpts are the options of every guard of the demo.
func (p *platform) guardOpts(opts ...guard.Option) []guard.Option {
	return append([]guard.Option{guard.WithLogger(p.log), guard.WithTracerProvider(p.tp)}, opts...)
}
