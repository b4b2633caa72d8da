package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/internal/problem"
)

// authMetrics exports the auth server's token endpoint counters
// (authserver.Stats) as gatehouse_authserver_tokens_issued_total{grant}
// and gatehouse_authserver_tokens_refused_total{error}.
type authMetrics struct {
	srv             *authserver.Server
	issued, refused *prometheus.Desc
}

func newAuthMetrics(srv *authserver.Server) *authMetrics {
	return &authMetrics{srv: srv,
		issued: prometheus.NewDesc("gatehouse_authserver_tokens_issued_total",
			"Token responses of the token endpoint, by grant_type.", []string{"grant"}, nil),
		refused: prometheus.NewDesc("gatehouse_authserver_tokens_refused_total",
			"Error responses of the token endpoint, by RFC 6749 error code.", []string{"error"}, nil),
	}
}

func (m *authMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.issued
	ch <- m.refused
}

func (m *authMetrics) Collect(ch chan<- prometheus.Metric) {
	st := m.srv.Stats()
	for grant, n := range st.Issued {
		ch <- prometheus.MustNewConstMetric(m.issued, prometheus.CounterValue, float64(n), grant)
	}
	for code, n := range st.Refused {
		ch <- prometheus.MustNewConstMetric(m.refused, prometheus.CounterValue, float64(n), code)
	}
}

// startAuthAdmin serves the auth server's /metrics (its token counters,
// the shared state's when there is one, the Go runtime and the process),
// /healthz (the process is up) and /readyz (the store answers a cheap
// query within 2s, authserver.Server.CheckStore; else 503 with the reason
// as a problem) on ln. It returns the server, to shut down.
func startAuthAdmin(ln net.Listener, srv *authserver.Server, shared *sharedState, handler slog.Handler) (*http.Server, error) {
	reg := tel.NewRegistry() // with the OpenTelemetry metrics (telemetry.go)
	for _, c := range []prometheus.Collector{newAuthMetrics(srv), collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	if shared != nil {
		if err := shared.register(reg); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ok := func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) }
	mux.HandleFunc("GET /healthz", ok)
	// The auth server's listener is bound before this one: ready when
	// the store answers.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := srv.CheckStore(r.Context()); err != nil {
			w.Header().Set("Retry-After", "5")
			problem.Write(w, &problem.Problem{Type: problem.TypeUnavailable, Status: http.StatusServiceUnavailable,
				Detail: "not ready: " + err.Error()})
			return
		}
		ok(w, r)
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout,
		ErrorLog: slog.NewLogLogger(handler, slog.LevelWarn)}
	go hs.Serve(ln)
	return hs, nil
}

// shutdownAdmin stops an admin server, if there is one.
func shutdownAdmin(ctx context.Context, hs *http.Server) {
	if hs != nil {
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
		}
	}
}
