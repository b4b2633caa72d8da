package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/internal/connlimit"
	"github.com/gatehousehq/gatehouse/redisconn"
	"github.com/gatehousehq/gatehouse/token"
)

// Options are what a Gateway gets from its host process besides the
// configuration. The zero value is usable.
type Options struct {
	// Logger receives the access log, refusals and operational events
	// (default slog.Default()).
	Logger *slog.Logger
	// Redis is the client of the Redis rate limit backend; nil unless
	// ratelimit.backend is redis. When nil and the configuration names a
	// redis_url, New opens a client (with redisconn.Open) and Close
	// closes it.
	Redis redis.UniversalClient
	// Registerer receives the gateway's metrics. A *prometheus.Registry
	// (or any Registerer that is also a Gatherer) is what AdminHandler
	// serves on /metrics; nil means a private registry.
	Registerer prometheus.Registerer
	// HTTPClient fetches JWKS and discovery documents and calls token
	// endpoints (exchange). nil: a client with a 10 s timeout.
	HTTPClient *http.Client
	// Revoker, when set, is the revocation hook of every verifier.
	Revoker token.Revoker
	// TracerProvider receives the gateway's spans (tracing.go); nil means
	// the global one (otel.GetTracerProvider) as New finds it. Without a
	// provider that exports, the gateway traces nothing and wraps nothing.
	TracerProvider trace.TracerProvider
}

// Gateway is the API gateway: a reverse proxy whose routes check tokens and
// rules, rate limits, IP lists, CORS and size limits before they forward a
// request to an upstream. It is safe for concurrent use; Reload swaps its
// configuration atomically while requests are in flight.
type Gateway struct {
	log       *slog.Logger
	opts      Options
	metrics   *metrics
	gatherer  prometheus.Gatherer
	transport *http.Transport
	upstreams http.RoundTripper // transport, in client spans when tracing (tracing.go)
	tel       telemetry
	client    *http.Client
	redis     redis.UniversalClient
	ownRedis  bool
	certs     *certReloader
	buffers   *bufferPool
	noRoute   *routeCounters // the counters of requests no route took

	mu sync.Mutex // serializes Reload and Close
	// ownNonceSecret is the gateway's own DPoP nonce secret (dpop.nonce
	// without nonce_secret_env), made at the first use and kept, so that
	// a nonce given before a reload stays good after it (binding.go).
	ownNonceSecret []byte
	state          atomic.Pointer[state]
	closed         atomic.Bool
}

// New validates cfg and builds a gateway. It may do I/O: the discovery
// documents of issuers without jwks_url or jwks_file are fetched now, so
// that a wrong issuer fails at start, and the keys of every remote issuer
// (within 5 s). An issuer that does not answer is no error: it is logged
// with its URL and retried in the background, its routes answer 503 and
// /readyz is not ready until its keys arrive (readiness.go).
func New(ctx context.Context, cfg *Config, opts Options) (*Gateway, error) {
	if cfg == nil {
		return nil, errors.New("gateway: nil configuration")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Gateway{log: opts.Logger, opts: opts, redis: opts.Redis}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.transport = newTransport()
	g.tel = newTelemetry(opts.TracerProvider)
	g.upstreams = g.tel.traceTransport(g.transport)
	g.buffers = newBufferPool()
	g.client = opts.HTTPClient
	if g.client == nil {
		g.client = &http.Client{Timeout: 10 * time.Second, Transport: newTransport()}
	}
	reg := opts.Registerer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, g.gatherer = r, r
	} else if ga, ok := reg.(prometheus.Gatherer); ok {
		g.gatherer = ga
	}
	m, err := newMetrics(reg, g)
	if err != nil {
		return nil, err
	}
	g.metrics = m
	g.noRoute = m.routeCounters("-")
	if cfg.RateLimit.Backend == "redis" && g.redis == nil {
		if cfg.RateLimit.RedisURL == "" {
			return nil, cfg.errAt(cfg.Line("ratelimit"), "ratelimit", "backend redis needs redis_url (or redis_url_env resolved with ResolveEnv, or Options.Redis)")
		}
		c, err := redisconn.Open(cfg.RateLimit.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("gateway: ratelimit.redis_url: %w", err)
		}
		g.redis, g.ownRedis = c, true
	}
	if cfg.TLS != nil {
		if g.certs, err = newCertReloader(cfg.TLS.CertFile, cfg.TLS.KeyFile, g.log); err != nil {
			g.closeRedis()
			return nil, err
		}
	}
	st, err := g.build(ctx, cfg, nil)
	if err != nil {
		g.closeRedis()
		return nil, err
	}
	g.state.Store(st)
	return g, nil
}

// newTransport is the tuned transport shared by every route: keep-alive
// connections to upstreams, bounded dials and TLS handshakes.
func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                  nil, // upstreams are reached directly
		DialContext:            (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    5 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// Handler returns the proxy: the handler of the gateway's listener.
func (g *Gateway) Handler() http.Handler { return g.tel.traceHandler(http.HandlerFunc(g.serveHTTP)) }

// Reload builds a gateway state from cfg and swaps it in atomically:
// requests in flight finish with the configuration they started with, new
// ones get cfg. On error the old configuration stays and the error says
// why. Listener settings (listen, admin_listen, limits of the HTTP server)
// take effect only at restart; TLS file names take effect at once.
func (g *Gateway) Reload(ctx context.Context, cfg *Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return errors.New("gateway: closed")
	}
	err := g.reload(ctx, cfg)
	result := "ok"
	if err != nil {
		result = "error"
	}
	g.metrics.reloads.WithLabelValues(result).Inc()
	return err
}

func (g *Gateway) reload(ctx context.Context, cfg *Config) error {
	if cfg == nil {
		return errors.New("gateway: nil configuration")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.RateLimit.Backend == "redis" && g.redis == nil {
		return errors.New("gateway: reload: backend redis needs a Redis client, which only a restart opens")
	}
	if cfg.TLS != nil && g.certs == nil {
		return errors.New("gateway: reload: TLS cannot be turned on without a restart")
	}
	old := g.state.Load()
	st, err := g.build(ctx, cfg, old)
	if err != nil {
		return err
	}
	if cfg.TLS != nil {
		if err := g.certs.setFiles(cfg.TLS.CertFile, cfg.TLS.KeyFile); err != nil {
			st.close()
			return err
		}
	}
	g.state.Store(st)
	old.close()
	g.log.Info("gateway configuration reloaded", "routes", len(cfg.Routes))
	return nil
}

// Close stops the health checks and closes the Redis client that New
// opened. Serve nothing with the gateway afterwards.
func (g *Gateway) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Swap(true) {
		return nil
	}
	if st := g.state.Load(); st != nil {
		st.close()
	}
	g.transport.CloseIdleConnections()
	return g.closeRedis()
}

func (g *Gateway) closeRedis() error {
	if g.ownRedis && g.redis != nil {
		return g.redis.Close()
	}
	return nil
}

// TLSConfig returns the listener's TLS configuration, whose certificate is
// reloaded from the files when they change, or nil without tls.
func (g *Gateway) TLSConfig() *tls.Config {
	if g.certs == nil {
		return nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: g.certs.getCertificate, NextProtos: []string{"h2", "http/1.1"}}
	if st := g.state.Load(); st != nil && st.cfg.TLS != nil && st.cfg.TLS.RequestClientCertificate {
		// For certificate-bound tokens (RFC 8705 §3), read at start.
		c.ClientAuth = tls.RequestClientCert
	}
	return c
}

// NewServer returns an http.Server for the proxy with the limits of the
// configuration: ReadHeaderTimeout, IdleTimeout and MaxHeaderBytes against
// slow or greedy clients, and TLSConfig when tls is set (serve it with
// ServeTLS(ln, "", "")). Request bodies are bounded by the handler itself
// (limits.body_idle_timeout, body_timeout); the connections per client
// address by Listener, which ln should come from.
func (g *Gateway) NewServer() *http.Server {
	l := g.state.Load().limits
	return &http.Server{
		Handler:           g.Handler(),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		// The handler answers 431 as problem+json up to twice the limit;
		// past that net/http cuts the request itself (plain text).
		MaxHeaderBytes: 2 * l.MaxHeaderBytes,
		TLSConfig:      g.TLSConfig(),
		ErrorLog:       slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
}

// Listener returns ln bounded by limits.max_connections_per_ip: a
// connection past the bound from one TCP peer address (an IPv6 peer by its
// client_ipv6_prefix) is closed as soon as it is accepted. Peers among
// trusted_proxies are not counted, since they carry many clients'
// connections. Serve the server of NewServer on it. The bound is read now:
// a reload does not change it.
func (g *Gateway) Listener(ln net.Listener) net.Listener {
	st := g.state.Load()
	return connlimit.NewListener(ln, connlimit.Config{
		MaxPerAddr:     st.limits.MaxConnectionsPerIP,
		IPv6PrefixBits: st.ipv6Bits,
		Exempt:         func(a netip.Addr) bool { return g.state.Load().isTrusted(a) },
		OnRefuse:       func(netip.Addr) { g.metrics.refusedConns.Inc() },
	})
}
