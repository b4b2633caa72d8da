// Package tracelog joins logs and traces: a [log/slog] handler that adds
// trace_id and span_id to every record written inside a span, from the
// record's context (LogAttrs(ctx, ...), InfoContext(ctx, ...)).
//
// Wrap the handler of the logger given to gatehouse's packages (guard,
// gateway, authserver, relay), and log with the request's context:
//
//	log := slog.New(tracelog.NewHandler(slog.NewJSONHandler(os.Stderr, nil)))
//	g, err := guard.New(verifier, guard.WithLogger(log))
//
// A record without a valid span context in its context is passed on as it
// is. The package imports only the OpenTelemetry trace API.
package tracelog

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// The attribute keys the handler adds.
const (
	TraceIDKey = "trace_id"
	SpanIDKey  = "span_id"
)

// Handler adds trace_id and span_id to the records of the handler it
// wraps. It is safe for concurrent use when the wrapped handler is.
type Handler struct {
	next slog.Handler
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns next with trace ids. A next that is a *Handler
// already is returned as it is.
func NewHandler(next slog.Handler) *Handler {
	if h, ok := next.(*Handler); ok {
		return h
	}
	return &Handler{next: next}
}

// Enabled reports whether the wrapped handler handles level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds trace_id and span_id (lowercase hex, as W3C traceparent
// writes them) when ctx carries a valid span context, then passes the
// record on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String(TraceIDKey, sc.TraceID().String()), slog.String(SpanIDKey, sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns the handler with attrs added to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns the handler with the record's attributes in a group.
// The trace ids stay at the top level only when no group is open: slog
// puts a record's attributes in the open groups.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name)}
}
