package gateway

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/ratelimit"
)

// metrics are the gateway's Prometheus collectors.
type metrics struct {
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	refused        *prometheus.CounterVec
	reloads        *prometheus.CounterVec
	inFlight       prometheus.Gauge
	refusedConns   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, g *Gateway) (*metrics, error) {
	const ns = "gatehouse_gateway"
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "requests_total",
			Help: "Requests answered, by route and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "request_duration_seconds",
			Help:    "Time from the request's arrival to the end of the answer, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"route"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "upstream_errors_total",
			Help: "Failed upstream calls, by route and kind (unreachable, timeout)."}, []string{"route", "kind"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "refused_total",
			Help: "Requests the gateway refused itself, by route and reason (rate_limited, ip_denied, unauthorized, forbidden, cors, body_too_large, uri_too_long, overloaded, no_route, ...)."}, []string{"route", "reason"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "config_reloads_total",
			Help: "Configuration reloads, by result (ok, error)."}, []string{"result"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "requests_in_flight",
			Help: "Requests being served."}),
		refusedConns: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "connections_refused_total",
			Help: "Connections closed at accept because their client address had limits.max_connections_per_ip open."}),
	}
	failures := prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: ns, Name: "ratelimit_backend_failures_total",
		Help: "Rate limit decisions made by the failure mode (open or closed) because Redis could not decide (ratelimit.Stats)."},
		func() float64 { f, _ := g.redisStats(); return float64(f) })
	failing := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "ratelimit_backend_failing",
		Help: "1 while the latest call to the Redis rate limit backend failed."},
		func() float64 {
			if _, f := g.redisStats(); f {
				return 1
			}
			return 0
		})
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.upstreamErrors, m.refused, m.reloads, m.inFlight, m.refusedConns, failures, failing} {
		if err := reg.Register(c); err != nil {
			return nil, errors.Join(errors.New("gateway: registering metrics"), err)
		}
	}
	return m, nil
}

// routeCounters are the counters of one route (or of "-", no route) by
// status code and by refusal reason, found without hashing labels.
type routeCounters struct {
	codes   *counters[int]
	reasons *counters[string]
}

func (m *metrics) routeCounters(route string) *routeCounters {
	return &routeCounters{
		codes:   &counters[int]{vec: m.requests, label: route, name: strconv.Itoa, m: map[int]prometheus.Counter{}},
		reasons: &counters[string]{vec: m.refused, label: route, name: func(s string) string { return s }, m: map[string]prometheus.Counter{}},
	}
}

// counters are the children of a counter vector whose first label is
// fixed, by the second; there are as many as status codes or reasons.
type counters[K comparable] struct {
	vec   *prometheus.CounterVec
	label string
	name  func(K) string
	mu    sync.RWMutex
	m     map[K]prometheus.Counter
}

func (c *counters[K]) inc(k K) {
	c.mu.RLock()
	ctr := c.m[k]
	c.mu.RUnlock()
	if ctr == nil {
		ctr = c.vec.WithLabelValues(c.label, c.name(k))
		c.mu.Lock()
		c.m[k] = ctr
		c.mu.Unlock()
	}
	ctr.Inc()
}

// redisStats sums the failure counters of the Redis limiters in use. A
// limiter dropped by a reload takes its count with it; reloads that keep
// a limit keep its limiter.
func (g *Gateway) redisStats() (failures uint64, failing bool) {
	st := g.state.Load()
	if st == nil {
		return 0, false
	}
	for _, l := range st.limiters {
		if r, ok := l.(*ratelimit.Redis); ok {
			s := r.Stats()
			failures += s.Failures
			failing = failing || s.Failing
		}
	}
	return failures, failing
}

// AdminHandler returns the admin endpoints: /metrics (Prometheus), /healthz
// (the process is up) and /readyz (a configuration is loaded, the gateway
// is not closed and every issuer with a JWKS URL or discovery has
// delivered keys; a 503 says what is missing). Serve it on a listener of
// its own.
func (g *Gateway) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	if g.gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(g.gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(g.log.Handler(), slog.LevelWarn)}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if why := g.notReady(); why != "" { // readiness.go
			w.Header().Set("Retry-After", "5")
			problem.Write(w, &problem.Problem{Type: problem.TypeUnavailable, Status: http.StatusServiceUnavailable, Detail: "not ready: " + why})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ready\n"))
	})
	return mux
}

// recorder notes the status and size of an answer.
type recorder struct {
	http.ResponseWriter
	info    *reqInfo
	status  int
	bytes   int64
	written bool
}

func (w *recorder) WriteHeader(code int) {
	if !w.written && code >= 200 {
		w.status, w.written = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	w.written = true
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes through, for streamed answers.
func (w *recorder) Flush() {
	w.written = true
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack passes through, for protocol upgrades (WebSocket) that the
// reverse proxy forwards.
func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.written, w.status = true, http.StatusSwitchingProtocols
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// finish counts the request and writes its access log line: method,
// route, path (never the query, which may hold secrets), status, duration,
// sub, client_id, client address and bytes. Never a token.
func (g *Gateway) finish(st *state, rec *recorder, r *http.Request) {
	info := rec.info
	d := time.Since(info.start)
	name := "-"
	var route *route
	if info.route != nil {
		route = info.route
		name = route.name
	}
	status := rec.status
	if info.refused == "" && !info.proxied && route != nil && route.auth != nil && !info.authed && status >= 400 {
		switch status {
		case http.StatusUnauthorized, http.StatusBadRequest:
			info.refused = reasonUnauthorized
		case http.StatusForbidden, http.StatusNotFound:
			info.refused = reasonForbidden
		default:
			info.refused = reasonAuthError
		}
	}
	if !info.proxied && info.authed && info.refused == "" && status == http.StatusForbidden {
		info.refused = reasonForbidden
	}
	byLabel := g.noRoute
	if route != nil {
		byLabel = route.counters
		route.duration.Observe(d.Seconds())
	} else {
		g.metrics.duration.WithLabelValues(name).Observe(d.Seconds())
	}
	byLabel.codes.inc(status)
	if info.refused != "" && info.refused != "client_closed" {
		byLabel.reasons.inc(info.refused)
	}
	traceFinish(r.Context(), name, info.refused) // tracing.go
	if !st.accessLog {
		return
	}
	attrs := [...]slog.Attr{
		slog.String("method", r.Method),
		slog.String("route", name),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("sub", info.sub),
		slog.String("client_id", info.clientID),
		slog.String("client", info.client.String()),
		slog.Int64("bytes", rec.bytes),
		slog.String("refused", info.refused),
	}
	// The record goes to the handler itself, with no caller: Logger.LogAttrs
	// would walk the stack (runtime.Callers) on every request for a source
	// location the access log line never shows.
	if h := g.log.Handler(); h.Enabled(r.Context(), slog.LevelInfo) {
		line := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		line.AddAttrs(attrs[:]...)
		h.Handle(r.Context(), line) // a line that fails is dropped, as Logger.LogAttrs drops it
	}
}

func attrRoute(name string) slog.Attr { return slog.String("route", name) }

func attrErr(err error) slog.Attr { return slog.String("error", err.Error()) }

func attrUpstream(u *upstream) slog.Attr {
	if u == nil {
		return slog.String("upstream", "")
	}
	return slog.String("upstream", u.url.Redacted())
}
