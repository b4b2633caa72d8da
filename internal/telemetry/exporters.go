package telemetry

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The exporters are chosen here, by the variables the OpenTelemetry
// specification names, rather than by contrib's autoexport: its init
// registers every exporter of every signal (logs too, and a Prometheus
// server of its own), which keeps all of them and their packages in the
// binary whether or not they are ever chosen.

// spanExporter is the exporter of OTEL_TRACES_EXPORTER: otlp (the default)
// over the protocol of otlpProtocol, or console. Setup does not call it for
// none.
func spanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	switch name := envName("OTEL_TRACES_EXPORTER"); name {
	case "console":
		return stdouttrace.New()
	case "", "otlp":
	default:
		return nil, fmt.Errorf("telemetry: OTEL_TRACES_EXPORTER %q: want otlp, console or none", name)
	}
	proto, err := otlpProtocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if err != nil {
		return nil, err
	}
	if proto == "grpc" {
		return otlptracegrpc.New(ctx)
	}
	return otlptracehttp.New(ctx)
}

// metricExporter is the push exporter of OTEL_METRICS_EXPORTER name, otlp
// or console.
func metricExporter(ctx context.Context, name string) (sdkmetric.Exporter, error) {
	if name == "console" {
		return stdoutmetric.New()
	}
	proto, err := otlpProtocol("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
	if err != nil {
		return nil, err
	}
	if proto == "grpc" {
		return otlpmetricgrpc.New(ctx)
	}
	return otlpmetrichttp.New(ctx)
}

// otlpProtocol is the OTLP protocol of a signal: its own variable (such as
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL), else OTEL_EXPORTER_OTLP_PROTOCOL,
// else http/protobuf, the specification's default. The exporters then read
// the endpoint, headers, timeout and TLS files of the same protocol.
func otlpProtocol(signalVar string) (string, error) {
	name, proto := signalVar, envName(signalVar)
	if proto == "" {
		name, proto = "OTEL_EXPORTER_OTLP_PROTOCOL", envName("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch proto {
	case "", "http/protobuf":
		return "http/protobuf", nil
	case "grpc":
		return "grpc", nil
	}
	return "", fmt.Errorf("telemetry: %s %q: want http/protobuf or grpc", name, proto)
}

// envName is the value of an environment variable that names a choice (an
// exporter, a protocol), trimmed and in lower case: the specification asks
// that such values be read without regard to case.
func envName(key string) string { return strings.ToLower(strings.TrimSpace(os.Getenv(key))) }
