// Package tracing holds what gatehouse's library packages (guard, relay,
// gateway, authserver) share about OpenTelemetry: which tracer provider a
// component uses, and whether tracing is on at all, so that a component
// whose traces go nowhere pays nothing on its hot path. It imports the
// OpenTelemetry API only, never the SDK (package internal/telemetry builds
// that, for cmd/gatehouse).
package tracing

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Scope is the instrumentation scope name of gatehouse's spans and
// metrics; its packages add their own name (Scope + "/guard").
const Scope = "github.com/gatehousehq/gatehouse"

// unset is the global tracer provider before otel.SetTracerProvider: a
// delegate that drops every span until a provider is set. Captured when
// the program starts, before main can set one.
var unset = otel.GetTracerProvider()

// Provider returns tp, or the global tracer provider when tp is nil.
func Provider(tp trace.TracerProvider) trace.TracerProvider {
	if tp == nil {
		return otel.GetTracerProvider()
	}
	return tp
}

// Enabled reports whether spans of tp may go somewhere: false for a noop
// provider and for the global one while no provider has been set
// (otel.SetTracerProvider). A component asks once, when it is built: one
// built before the SDK is set up stays untraced.
func Enabled(tp trace.TracerProvider) bool {
	switch tp.(type) {
	case nil, noop.TracerProvider, *noop.TracerProvider:
		return false
	}
	return tp != unset
}
