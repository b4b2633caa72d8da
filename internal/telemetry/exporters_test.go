package telemetry_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/gatehousehq/gatehouse/internal/telemetry"
)

// traceReceiver is an OTLP/gRPC trace receiver that keeps the names of
// the spans it gets.
type traceReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	names []string
}

func (r *traceReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.names = append(r.names, s.Name)
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// TestOTLPGRPCExport: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc sends the
// spans to an OTLP/gRPC receiver (plaintext, as the http:// endpoint says).
func TestOTLPGRPCExport(t *testing.T) {
	cleanEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &traceReceiver{}
	srv := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(srv, rcv)
	go srv.Serve(ln)
	defer srv.Stop()
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") // the signal's own variable wins
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://"+ln.Addr().String())
	tel, err := telemetry.Setup(t.Context(), telemetry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Tracing {
		t.Fatal("tracing is off with an OTLP traces endpoint")
	}
	_, span := otel.Tracer("test").Start(t.Context(), "checkout")
	span.End()
	if err := tel.Shutdown(t.Context()); err != nil { // flushes
		t.Fatalf("Shutdown: %v", err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if strings.Join(rcv.names, ",") != "checkout" {
		t.Fatalf("the gRPC receiver got spans %v, want checkout", rcv.names)
	}
}

// TestExporterChoice: the OTEL_* variables that choose the exporters and
// their protocols; a wrong value fails Setup with the variable that holds
// it and the values it may take.
func TestExporterChoice(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		tracing bool
		metrics string // MetricsExporter
		err     string // "" for success, else what the error must say
	}{
		{"otlp traces over http by default", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true, "", ""},
		{"otlp traces over grpc", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, "", ""},
		{"console traces", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true, "", ""},
		{"traces off", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, false, "", ""},
		{"spaces around the name", map[string]string{"OTEL_TRACES_EXPORTER": " otlp "}, true, "", ""},
		{"names in any case", map[string]string{"OTEL_TRACES_EXPORTER": "Console", "OTEL_METRICS_EXPORTER": "OTLP", "OTEL_EXPORTER_OTLP_PROTOCOL": "GRPC"}, true, "otlp", ""},
		{"NONE is none", map[string]string{"OTEL_TRACES_EXPORTER": "NONE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, false, "", ""},
		{"unknown traces exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"},
			false, "", `OTEL_TRACES_EXPORTER "zipkin": want otlp, console or none`},
		{"unknown protocol", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
			false, "", `OTEL_EXPORTER_OTLP_PROTOCOL "http/json": want http/protobuf or grpc`},
		{"unknown traces protocol", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "udp"},
			false, "", `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL "udp": want http/protobuf or grpc`},
		{"otlp metrics over grpc", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"}, false, "otlp", ""},
		{"console metrics", map[string]string{"OTEL_METRICS_EXPORTER": "console"}, false, "console", ""},
		{"unknown metrics protocol", map[string]string{"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "thrift"},
			false, "", `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL "thrift": want http/protobuf or grpc`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			// Nothing listens: Shutdown's flush fails, which is not what
			// this test is about, so it gets little time to.
			shutdown := func(tel *telemetry.Telemetry) {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				tel.Shutdown(ctx)
			}
			tel, err := telemetry.Setup(t.Context(), telemetry.Config{})
			if tc.err != "" {
				if err == nil {
					shutdown(tel)
					t.Fatalf("no error, want one saying %s", tc.err)
				}
				if !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %q does not say %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer shutdown(tel)
			if tel.Tracing != tc.tracing || tel.MetricsExporter != tc.metrics {
				t.Errorf("tracing %v, metrics exporter %q; want %v, %q", tel.Tracing, tel.MetricsExporter, tc.tracing, tc.metrics)
			}
		})
	}
}
