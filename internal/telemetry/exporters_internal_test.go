package telemetry

import (
	"fmt"
	"testing"
)

// TestOTLPProtocol: the signal's own variable, else the general one, else
// http/protobuf; names in any case; a wrong value names its variable.
func TestOTLPProtocol(t *testing.T) {
	const own, general = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"
	for _, tc := range []struct{ own, general, want, err string }{
		{"", "", "http/protobuf", ""},
		{"", "grpc", "grpc", ""},
		{"grpc", "http/protobuf", "grpc", ""},
		{"http/protobuf", "grpc", "http/protobuf", ""},
		{" ", "GRPC", "grpc", ""},
		{"Http/Protobuf", "", "http/protobuf", ""},
		{"http/json", "grpc", "", own + ` "http/json": want http/protobuf or grpc`},
		{"", "thrift", "", general + ` "thrift": want http/protobuf or grpc`},
	} {
		t.Run(tc.own+"|"+tc.general, func(t *testing.T) {
			t.Setenv(own, tc.own)
			t.Setenv(general, tc.general)
			got, err := otlpProtocol(own)
			if tc.err != "" {
				if err == nil || err.Error() != "telemetry: "+tc.err {
					t.Fatalf("otlpProtocol = %q, %v; want the error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("otlpProtocol = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestExporterKinds: each choice builds the exporter it names (the OTLP
// trace exporters of both protocols are one type, told apart by the
// receivers of TestOTLPHTTPExport and TestOTLPGRPCExport).
func TestExporterKinds(t *testing.T) {
	for _, tc := range []struct {
		traces, metrics, proto string
		wantSpan, wantMetric   string
	}{
		{"console", "console", "", "*stdouttrace.Exporter", "*stdoutmetric.exporter"},
		{"otlp", "otlp", "", "*otlptrace.Exporter", "*otlpmetrichttp.Exporter"},
		{"", "otlp", "grpc", "*otlptrace.Exporter", "*otlpmetricgrpc.Exporter"},
	} {
		t.Run(tc.traces+"|"+tc.metrics+"|"+tc.proto, func(t *testing.T) {
			t.Setenv("OTEL_TRACES_EXPORTER", tc.traces)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tc.proto)
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "")
			t.Setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "")
			se, err := spanExporter(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			me, err := metricExporter(t.Context(), tc.metrics)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", se); got != tc.wantSpan {
				t.Errorf("span exporter %s, want %s", got, tc.wantSpan)
			}
			if got := fmt.Sprintf("%T", me); got != tc.wantMetric {
				t.Errorf("metric exporter %s, want %s", got, tc.wantMetric)
			}
		})
	}
}
