package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/gatehousehq/gatehouse/internal/telemetry"
	"github.com/gatehousehq/gatehouse/internal/tracing"
)

// otelVars are cleared before each test: the environment of the test
// process must not choose its exporter.
var otelVars = []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"}

func cleanEnv(t *testing.T) {
	for _, v := range otelVars {
		t.Setenv(v, "")
	}
}

func setup(t *testing.T, cfg telemetry.Config) *telemetry.Telemetry {
	t.Helper()
	tel, err := telemetry.Setup(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	t.Cleanup(func() { tel.Shutdown(context.Background()) })
	return tel
}

// TestOffWhenUnset: without OTEL_* variables nothing is traced and the
// global tracer provider stays unset, so the libraries wrap nothing.
func TestOffWhenUnset(t *testing.T) {
	cleanEnv(t)
	tel := setup(t, telemetry.Config{})
	if tel.Tracing || tracing.Enabled(tel.TracerProvider) {
		t.Fatal("tracing is on without OTEL_* variables")
	}
	if tel.MetricsExporter != "" {
		t.Errorf("metrics exporter %q without OTEL_METRICS_EXPORTER", tel.MetricsExporter)
	}
}

// TestOTLPHTTPExport: configured by the environment alone, the exporter
// sends spans to an OTLP/HTTP receiver, which decodes them: HTTP is the
// protocol when no variable names one.
func TestOTLPHTTPExport(t *testing.T) {
	cleanEnv(t)
	var mu sync.Mutex
	var got []*collectortrace.ExportTraceServiceRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "unexpected "+r.URL.Path+" "+r.Header.Get("Content-Type"), http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(b, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Write(out)
	}))
	defer srv.Close()
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "orders")
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
	t.Setenv("OTEL_TRACES_SAMPLER_ARG", "1.0")
	tel, err := telemetry.Setup(t.Context(), telemetry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Tracing || otel.GetTracerProvider() != tel.TracerProvider {
		t.Fatal("tracing is not on, or not the global provider")
	}
	_, span := otel.Tracer("test").Start(t.Context(), "checkout")
	span.End()
	if err := tel.Shutdown(t.Context()); err != nil { // flushes
		t.Fatalf("Shutdown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var names, services []string
	for _, req := range got {
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.Resource.Attributes {
				if a.Key == "service.name" {
					services = append(services, a.Value.GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
	}
	if strings.Join(names, ",") != "checkout" || strings.Join(services, ",") != "orders" {
		t.Fatalf("receiver got spans %v of services %v, want checkout of orders", names, services)
	}
}

// TestBadEnvironment: each wrong value fails Setup with the variable's name.
func TestBadEnvironment(t *testing.T) {
	for _, tc := range []struct{ name, value, extra, want string }{
		{"OTEL_TRACES_SAMPLER_ARG", "2", "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG"},
		{"OTEL_TRACES_SAMPLER_ARG", "half", "traceidratio", "OTEL_TRACES_SAMPLER_ARG"},
		{"OTEL_TRACES_SAMPLER", "sometimes", "", "OTEL_TRACES_SAMPLER"},
		{"OTEL_METRICS_EXPORTER", "statsd", "", "OTEL_METRICS_EXPORTER"},
		{"OTEL_TRACES_EXPORTER", "carrier-pigeon", "", "OTEL_TRACES_EXPORTER"},
		{"OTEL_SDK_DISABLED", "maybe", "", "OTEL_SDK_DISABLED"},
		{"OTEL_RESOURCE_ATTRIBUTES", "service.name", "", "OTEL_RESOURCE_ATTRIBUTES"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv("OTEL_TRACES_EXPORTER", "console")
			t.Setenv(tc.name, tc.value)
			if tc.extra != "" {
				t.Setenv("OTEL_TRACES_SAMPLER", tc.extra)
			}
			tel, err := telemetry.Setup(t.Context(), telemetry.Config{})
			if err == nil {
				tel.Shutdown(t.Context())
				t.Fatalf("%s=%q: no error", tc.name, tc.value)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// TestPrometheusNames: the instruments of guard, relay and the auth server
// appear on a Registry under Prometheus names.
func TestPrometheusNames(t *testing.T) {
	cleanEnv(t)
	tel := setup(t, telemetry.Config{})
	m := tel.MeterProvider.Meter("test")
	h, _ := m.Float64Histogram("gatehouse.authserver.token_request.duration", metric.WithUnit("s"))
	h.Record(t.Context(), 0.01)
	c, _ := m.Int64Counter("gatehouse.guard.refusals", metric.WithUnit("{request}"))
	c.Add(t.Context(), 1)
	reg := tel.NewRegistry()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range fams {
		have[f.GetName()] = true
	}
	for _, want := range []string{"gatehouse_authserver_token_request_duration_seconds", "gatehouse_guard_refusals_total"} {
		if !have[want] {
			t.Errorf("no %s among %v", want, have)
		}
	}
}
