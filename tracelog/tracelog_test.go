package tracelog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/tracelog"
)

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(tracelog.NewHandler(slog.NewJSONHandler(&buf, nil))).With("component", "gateway")
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	defer span.End()

	log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("route", "orders"), slog.Int("a", 1), slog.Int("b", 2),
		slog.Int("c", 3), slog.Int("d", 4), slog.Int("e", 5), slog.Int("f", 6)) // more than a Record keeps inline
	log.InfoContext(context.Background(), "outside a span")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %s", len(lines), buf.String())
	}
	var in, out map[string]any
	json.Unmarshal([]byte(lines[0]), &in)
	json.Unmarshal([]byte(lines[1]), &out)
	sc := span.SpanContext()
	if in["trace_id"] != sc.TraceID().String() || in["span_id"] != sc.SpanID().String() || in["component"] != "gateway" || in["f"] != 6.0 {
		t.Errorf("line in the span: %s", lines[0])
	}
	if _, ok := out["trace_id"]; ok {
		t.Errorf("line outside a span has a trace id: %s", lines[1])
	}
	if tracelog.NewHandler(log.Handler()) != log.Handler() {
		t.Error("wrapping twice")
	}
}

// A remote span context (from a traceparent) is valid too: its ids are
// logged.
func ExampleNewHandler() {
	log := slog.New(tracelog.NewHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output
			}
			return a
		}})))
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, Remote: true}))
	log.InfoContext(ctx, "token_refused", "client_id", "cli")
	// Output:
	// level=INFO msg=token_refused client_id=cli trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7
}
