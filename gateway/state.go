package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse/internal/bodyread"
	"github.com/gatehousehq/gatehouse/ratelimit"
)

// state is one configuration, built and validated, immutable once serving.
type state struct {
	cfg       *Config
	mux       *http.ServeMux
	routeOf   map[string]string // pattern → route name (matcher.routeOf)
	routes    []*route
	trusted   []netip.Prefix
	ip        *ipFilter
	global    *limitStep
	limiters  map[string]ratelimit.Limiter // by policy name, for reuse and stats
	sem       chan struct{}
	limits    Limits
	headers   [][2]string
	hsts      string
	accessLog bool
	cancel    context.CancelFunc // stops the health checks
	// claimHeaders are the forward_claims header names of every route,
	// lowercased with "_" as "-": no request carries them upstream unless
	// the gateway set them, on any route.
	claimHeaders map[string]bool
	// dropHeaders are the canonical names of the claim headers and of the
	// always-spoofable headers: the per-request check of a header name
	// without "_", which needs no lowercasing.
	dropHeaders map[string]bool
	// inFlight counts the requests in flight per client address, when
	// limits.max_concurrent_per_client is set.
	inFlight *clientSlots
	// forwarded: the client address is read from Forwarded, not
	// X-Forwarded-For (client_ip_header).
	forwarded bool
	// issuerKeys are the remote key sources, which /readyz checks.
	issuerKeys []issuerKeys
	// methods are the methods served (allowed_methods, methodcheck.go).
	methods methodSet
	// bodyLimits bound the reading of request bodies
	// (limits.body_idle_timeout, limits.body_timeout).
	bodyLimits bodyread.Limits
	// ipv6Bits is client_ipv6_prefix: the bits of an IPv6 address that
	// are one client (clientip.go).
	ipv6Bits int
}

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

// close stops the state's health checks; requests in flight on it finish.
func (st *state) close() {
	if st == nil {
		return
	}
	st.cancel()
}

func orDefault[T int | int64 | time.Duration](v, d T) T {
	if v == 0 {
		return d
	}
	return v
}

// buildHeaders resolves the security headers.
func (st *state) buildHeaders(s SecurityHeaders) {
	add := func(name, v, def string) {
		switch v {
		case "":
			v = def
		case "-":
			return
		}
		st.headers = append(st.headers, [2]string{name, v})
	}
	add("X-Content-Type-Options", s.ContentTypeOptions, "nosniff")
	add("X-Frame-Options", s.FrameOptions, "DENY")
	add("Referrer-Policy", s.ReferrerPolicy, "no-referrer")
	for k, v := range s.Extra {
		st.headers = append(st.headers, [2]string{http.CanonicalHeaderKey(k), v})
	}
	if s.HSTS == nil || *s.HSTS {
		age := orDefault(s.HSTSMaxAge, DefaultHSTSMaxAge)
		st.hsts = "max-age=" + strconv.FormatInt(int64(age/time.Second), 10)
		if s.HSTSIncludeSubdomains {
			st.hsts += "; includeSubDomains"
		}
	}
}

// secHeaders sets the security headers on a response.
func (st *state) secHeaders(h http.Header, tls bool) {
	for _, kv := range st.headers {
		h[kv[0]] = []string{kv[1]}
	}
	if tls && st.hsts != "" {
		h["Strict-Transport-Security"] = []string{st.hsts}
	}
}

// dropSecHeaders removes the upstream's values of the headers the gateway
// sets, so that the gateway's are the only ones.
func (st *state) dropSecHeaders(h http.Header) {
	for _, kv := range st.headers {
		delete(h, kv[0])
	}
	if st.hsts != "" {
		delete(h, "Strict-Transport-Security")
	}
}

// policyName is the ratelimit policy name of a limit.
func policyName(route string) string {
	if route == "" {
		return "global"
	}
	return fmt.Sprintf("route.%s", route)
}

// claimHeaderKey is how header names are compared with the forward_claims
// names: without case, and with "_" as "-" (CGI and WSGI servers read
// X_User and X-User as one).
func claimHeaderKey(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// clientSlots bounds the requests in flight per client address.
type clientSlots struct {
	max int
	mu  sync.Mutex
	n   map[netip.Addr]int // only addresses with requests in flight
}

// take reports whether a has a free slot, and takes it.
func (c *clientSlots) take(a netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[a] >= c.max {
		return false
	}
	c.n[a]++
	return true
}

// give returns a slot of a.
func (c *clientSlots) give(a netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[a] <= 1 {
		delete(c.n, a)
		return
	}
	c.n[a]--
}
