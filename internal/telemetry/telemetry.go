// Package telemetry sets up OpenTelemetry for cmd/gatehouse from the
// standard OTEL_* environment variables: a TracerProvider that exports
// spans (OTLP over HTTP or gRPC, or the console), a MeterProvider whose
// metrics Prometheus scrapes on the admin listeners and, when
// OTEL_METRICS_EXPORTER asks for it, that also pushes them (with the
// Prometheus registries' own metrics, through the Prometheus bridge) over
// OTLP; and the W3C propagator (trace context and baggage).
//
// Tracing is off unless OTEL_TRACES_EXPORTER names an exporter other than
// none, an OTLP endpoint variable is set (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or Config.Traces forces it (`gatehouse
// demo --otel`); OTEL_SDK_DISABLED=true turns everything off. When tracing
// is off the global tracer provider is left unset, and gatehouse's
// packages then wrap nothing (package internal/tracing).
//
// The OTLP protocol is read here too (OTEL_EXPORTER_OTLP_PROTOCOL and the
// signals' own _TRACES_PROTOCOL, _METRICS_PROTOCOL: http/protobuf, the
// default, or grpc); the SDK reads the rest itself: _ENDPOINT, _HEADERS,
// _TIMEOUT, OTEL_BSP_*, OTEL_METRIC_EXPORT_INTERVAL. Names and protocols
// are read without regard to case, as the specification asks. The sampler (OTEL_TRACES_SAMPLER,
// OTEL_TRACES_SAMPLER_ARG) and the resource (OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES; service.name defaults to "gatehouse") are
// checked here, so that a wrong value fails at start with its name.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	prombridge "go.opentelemetry.io/contrib/bridges/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES says otherwise.
const DefaultServiceName = "gatehouse"

// Config is what the command adds to the environment. The zero value
// follows the environment alone.
type Config struct {
	// ServiceName replaces DefaultServiceName (the environment still wins).
	ServiceName string
	// Traces exports spans even when no OTEL_* variable asks for it: to
	// the OTLP default, http/protobuf on localhost:4318, unless the
	// variables say where. OTEL_SDK_DISABLED=true still wins.
	Traces bool
}

// Telemetry is the set-up SDK: its providers, set as the globals, and what
// Shutdown flushes.
type Telemetry struct {
	// TracerProvider is the SDK's when tracing is on, else a noop one.
	TracerProvider trace.TracerProvider
	// MeterProvider is the SDK's (it feeds Collector, and OTLP when
	// OTEL_METRICS_EXPORTER asks), unless OTEL_SDK_DISABLED.
	MeterProvider metric.MeterProvider
	// Tracing reports whether spans are exported; MetricsExporter names
	// the push exporter of metrics ("" without one).
	Tracing         bool
	MetricsExporter string

	names    *prometheus.Registry // the OTel metrics, for Prometheus (nil when disabled)
	bridged  *gatherers           // the registries pushed over OTLP
	shutdown []func(context.Context) error
}

// Setup builds the providers from the environment, sets them and the
// propagator as the OpenTelemetry globals, and returns them. Call
// Shutdown before the process exits: it flushes the spans and metrics
// not yet exported.
func Setup(ctx context.Context, cfg Config) (*Telemetry, error) {
	t := &Telemetry{TracerProvider: noop.NewTracerProvider(), bridged: &gatherers{}}
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if disabled, err := envBool("OTEL_SDK_DISABLED"); err != nil || disabled {
		t.MeterProvider = otel.GetMeterProvider()
		return t, err
	}
	res, err := newResource(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := t.setupMetrics(ctx, res); err != nil {
		t.Shutdown(ctx)
		return nil, err
	}
	if tracesWanted(cfg) {
		if err := t.setupTraces(ctx, res); err != nil {
			t.Shutdown(ctx)
			return nil, err
		}
	}
	return t, nil
}

// tracesWanted reports whether the environment (or cfg) asks for spans.
func tracesWanted(cfg Config) bool {
	if e := envName("OTEL_TRACES_EXPORTER"); e != "" {
		return e != "none"
	}
	return cfg.Traces || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

func newResource(ctx context.Context, cfg Config) (*resource.Resource, error) {
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	// Later detectors win: the environment over the default name.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", name)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTEL_RESOURCE_ATTRIBUTES or OTEL_SERVICE_NAME: %w", err)
	}
	return res, nil
}

func (t *Telemetry) setupTraces(ctx context.Context, res *resource.Resource) error {
	sampler, err := samplerFromEnv()
	if err != nil {
		return err
	}
	exp, err := spanExporter(ctx)
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res), sdktrace.WithSampler(sampler))
	t.shutdown = append(t.shutdown, tp.Shutdown)
	t.TracerProvider, t.Tracing = tp, true
	otel.SetTracerProvider(tp)
	return nil
}

// samplerFromEnv reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG
// (default parentbased_always_on), refusing what the SDK would only log.
func samplerFromEnv() (sdktrace.Sampler, error) {
	name := strings.ToLower(strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER")))
	arg := strings.TrimSpace(os.Getenv("OTEL_TRACES_SAMPLER_ARG"))
	ratio := func() (float64, error) {
		if arg == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("telemetry: OTEL_TRACES_SAMPLER_ARG %q: want a ratio from 0 to 1 for sampler %s", arg, name)
		}
		return r, nil
	}
	switch name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "traceidratio":
		r, err := ratio()
		return sdktrace.TraceIDRatioBased(r), err
	case "parentbased_traceidratio":
		r, err := ratio()
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), err
	}
	return nil, fmt.Errorf("telemetry: OTEL_TRACES_SAMPLER %q: want always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio", name)
}

// The push exporters of OTEL_METRICS_EXPORTER ("prometheus" is the admin
// listeners' /metrics, which is always there).
var metricsExporters = []string{"otlp", "console", "prometheus", "none"}

func (t *Telemetry) setupMetrics(ctx context.Context, res *resource.Resource) error {
	// The exporter registers its collector on t.names, which every
	// Registry gathers and the OTLP bridge leaves out.
	t.names = prometheus.NewRegistry()
	prom, err := otelprom.New(otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo(), otelprom.WithRegisterer(t.names))
	if err != nil {
		return fmt.Errorf("telemetry: Prometheus exporter: %w", err)
	}
	opts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(prom)}
	name := envName("OTEL_METRICS_EXPORTER")
	if name != "" && !slices.Contains(metricsExporters, name) {
		return fmt.Errorf("telemetry: OTEL_METRICS_EXPORTER %q: want otlp, console, prometheus or none", name)
	}
	if name == "otlp" || name == "console" {
		exp, err := metricExporter(ctx, name)
		if err != nil {
			return err
		}
		producer := prombridge.NewMetricProducer(prombridge.WithGatherer(bridgeGatherer{t}))
		opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithProducer(producer))))
		t.MetricsExporter = name
	}
	mp := sdkmetric.NewMeterProvider(opts...)
	t.shutdown = append(t.shutdown, mp.Shutdown)
	t.MeterProvider = mp
	otel.SetMeterProvider(mp)
	return nil
}

// Registry is a Prometheus registry whose Gather adds the OpenTelemetry
// metrics (gatehouse_guard_refusals_total, gatehouse_relay_calls_total,
// gatehouse_authserver_token_request_duration_seconds, otelhttp's): what
// an admin listener serves on /metrics. Register collectors on it as on
// any registry.
type Registry struct {
	*prometheus.Registry
	t *Telemetry
}

var _ prometheus.Gatherer = (*Registry)(nil)

// NewRegistry returns an empty Registry. Its own metrics are pushed over
// OTLP too when OTEL_METRICS_EXPORTER asks. A nil Telemetry gives a plain
// registry.
func (t *Telemetry) NewRegistry() *Registry {
	r := &Registry{Registry: prometheus.NewRegistry(), t: t}
	if t != nil && t.names != nil {
		t.bridged.add(r.Registry)
	}
	return r
}

// Gather gathers the registry and the OpenTelemetry metrics.
func (r *Registry) Gather() ([]*dto.MetricFamily, error) {
	if r.t == nil || r.t.names == nil {
		return r.Registry.Gather()
	}
	return prometheus.Gatherers{r.Registry, r.t.names}.Gather()
}

// Shutdown flushes and stops the exporters.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range slices.Backward(t.shutdown) {
		if err := f(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	t.shutdown = nil
	return errors.Join(errs...)
}

// envBool reads a boolean variable ("" is false).
func envBool(name string) (bool, error) {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("telemetry: %s %q: want true or false", name, v)
	}
	return b, nil
}

// gatherers are the registries given to Register.
type gatherers struct {
	mu   sync.Mutex
	regs prometheus.Gatherers
}

func (g *gatherers) add(reg prometheus.Gatherer) {
	g.mu.Lock()
	g.regs = append(g.regs, reg)
	g.mu.Unlock()
}

// bridgeGatherer gathers the registries for the OTLP push, without the
// metrics that came from the MeterProvider itself (pushed natively).
type bridgeGatherer struct{ t *Telemetry }

func (b bridgeGatherer) Gather() ([]*dto.MetricFamily, error) {
	b.t.bridged.mu.Lock()
	regs := slices.Clone(b.t.bridged.regs)
	b.t.bridged.mu.Unlock()
	own, err := b.t.names.Gather()
	if err != nil {
		return nil, err
	}
	skip := make(map[string]bool, len(own))
	for _, f := range own {
		skip[f.GetName()] = true
	}
	all, err := regs.Gather()
	return slices.DeleteFunc(all, func(f *dto.MetricFamily) bool { return skip[f.GetName()] }), err
}
