package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/internal/bodyread"
	"github.com/gatehousehq/gatehouse/ratelimit"
)

// Building a state from a validated Config: defaults, verifiers, routes,
// the route mux. Nothing here parses a value of the file again.

// build turns cfg into a state; old, when not nil, lends it the limiters
// whose policy did not change, so that reloading keeps their counts.
func (g *Gateway) build(ctx context.Context, cfg *Config, old *state) (*state, error) {
	st := &state{cfg: cfg, limits: cfg.Limits, limiters: map[string]ratelimit.Limiter{}}
	l := &st.limits
	l.MaxBodyBytes = orDefault(l.MaxBodyBytes, DefaultMaxBodyBytes)
	l.MaxHeaderBytes = orDefault(l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	l.MaxURLLength = orDefault(l.MaxURLLength, DefaultMaxURLLength)
	l.ReadHeaderTimeout = orDefault(l.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	l.IdleTimeout = orDefault(l.IdleTimeout, DefaultIdleTimeout)
	l.UpstreamTimeout = orDefault(l.UpstreamTimeout, DefaultUpstreamTimeout)
	l.MaxConcurrent = orDefault(l.MaxConcurrent, DefaultMaxConcurrent)
	l.BodyIdleTimeout = orDefault(l.BodyIdleTimeout, DefaultBodyIdleTimeout)
	l.BodyTimeout = orDefault(l.BodyTimeout, DefaultBodyTimeout)
	l.MaxConnectionsPerIP = orDefault(l.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP)
	st.bodyLimits = bodyread.Limits{Idle: l.BodyIdleTimeout, Total: l.BodyTimeout}
	st.methods = newMethodSet(cfg.AllowedMethods)
	st.ipv6Bits = orDefault(cfg.ClientIPv6Prefix, DefaultClientIPv6Prefix)
	st.sem = make(chan struct{}, l.MaxConcurrent)
	if l.MaxConcurrentPerClient > 0 {
		st.inFlight = &clientSlots{max: l.MaxConcurrentPerClient, n: map[netip.Addr]int{}}
	}
	st.accessLog = cfg.AccessLog == nil || *cfg.AccessLog
	st.trusted = append(st.trusted, cfg.trusted...) // parsed by Config.Validate
	st.forwarded = strings.EqualFold(cfg.ClientIPHeader, "forwarded")
	st.ip = newIPFilter(cfg.IP)
	st.buildHeaders(cfg.SecurityHeaders)

	var err error
	if cfg.GlobalRateLimit != nil {
		if st.global, err = g.limitStep(st, old, "global", cfg.GlobalRateLimit); err != nil {
			return nil, err
		}
	}
	if st.binding, err = g.buildBinding(cfg, old); err != nil { // binding.go
		return nil, err
	}
	verifiers, err := g.buildVerifiers(ctx, cfg)
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	st.issuerKeys = g.fetchKeys(ctx, hctx, cfg, verifiers) // readiness.go
	for i := range cfg.Routes {
		rt, err := g.buildRoute(st, old, &cfg.Routes[i], i, verifiers)
		if err != nil {
			cancel()
			return nil, err
		}
		st.routes = append(st.routes, rt)
	}
	st.claimHeaders, st.dropHeaders = map[string]bool{}, map[string]bool{}
	for _, rt := range st.routes {
		for _, f := range rt.forward {
			key := claimHeaderKey(f[0])
			st.claimHeaders[key] = true
			st.dropHeaders[http.CanonicalHeaderKey(key)] = true
		}
	}
	// The client-certificate headers (binding.go): their "_" spellings
	// never go upstream; the hyphen ones are the binding's to keep or drop.
	for _, name := range certHeaders {
		st.claimHeaders[claimHeaderKey(name)] = true
	}
	if st.binding != nil && st.binding.certHeader != "" {
		st.claimHeaders[claimHeaderKey(st.binding.certHeader)] = true
	}
	for key, always := range spoofable {
		if always {
			st.dropHeaders[http.CanonicalHeaderKey(key)] = true
		}
	}
	m, err := buildMatcher(cfg.Routes, func(i int) matchTarget {
		rt := st.routes[i]
		t := matchTarget{handler: rt}
		if rt.cors != nil {
			t.preflight = http.HandlerFunc(rt.preflight)
		}
		return t
	})
	if err != nil {
		cancel()
		return nil, cfg.errAt(cfg.Line("routes"), "routes", "%v", err)
	}
	st.mux, st.routeOf = m.mux, m.routeOf
	for _, rt := range st.routes {
		rt.startHealthChecks(hctx, g)
	}
	return st, nil
}

func orDefault[T int | int64 | time.Duration](v, d T) T {
	if v == 0 {
		return d
	}
	return v
}
