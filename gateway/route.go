package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/relay"
)

// route is one configured route, ready to serve.
type route struct {
	name        string
	st          *state
	g           *Gateway
	cfg         *Route
	upstreams   []*upstream
	next        atomic.Uint64
	failures    int
	cooldown    time.Duration
	timeout     time.Duration
	maxBody     int64
	stripPrefix string
	ip          *ipFilter
	cors        *corsPolicy
	preLimit    *limitStep // keyed by ip or header: before the token check
	postLimit   *limitStep // keyed by the token: after it
	auth        *routeAuth // nil for auth: none
	downstream  string
	exchange    *relay.Exchange
	forward     [][2]string // header, claim
	proxy       *httputil.ReverseProxy
	duration    prometheus.Observer
	counters    *routeCounters // observe.go
	bound       *boundExchange // exchange.dpop: the route's DPoP key (exchangebound.go)
}

func (g *Gateway) buildRoute(st, old *state, rc *Route, i int, verifiers map[string]*issuerVerifier) (*route, error) {
	rt := &route{
		name: rc.Name, st: st, g: g, cfg: rc,
		failures: DefaultPassiveFailures, cooldown: DefaultPassiveCooldown,
		timeout: orDefault(rc.Timeout, st.limits.UpstreamTimeout),
		maxBody: orDefault(rc.MaxBodyBytes, st.limits.MaxBodyBytes),
		ip:      newIPFilter(rc.IP), downstream: rc.Downstream,
		duration: g.metrics.duration.WithLabelValues(rc.Name),
		counters: g.metrics.routeCounters(rc.Name),
	}
	if rt.downstream == "" {
		// A route that checks no token passes none on: the caller's
		// token is for the routes that check it, not for a public
		// upstream (which could log or replay it). downstream: relay,
		// written out, keeps it.
		rt.downstream = "relay"
		if rc.Auth == "none" {
			rt.downstream = "strip"
		}
	}
	if p := rc.PassiveHealth; p != nil {
		rt.failures = orDefault(p.Failures, DefaultPassiveFailures)
		rt.cooldown = orDefault(p.Cooldown, DefaultPassiveCooldown)
	}
	rt.stripPrefix = rc.StripPrefix
	for _, u := range rc.upstreams { // parsed by Config.Validate
		rt.upstreams = append(rt.upstreams, &upstream{url: u})
	}
	methods, _ := routePatterns(rc)
	rt.cors = newCORS(rc.CORS, methods)
	key := fmt.Sprintf("routes[%d]", i)
	if rc.RateLimit != nil {
		s, err := g.limitStep(st, old, rc.Name, rc.RateLimit)
		if err != nil {
			return nil, err
		}
		if s.principal {
			rt.postLimit = s
		} else {
			rt.preLimit = s
		}
	}
	if rc.Auth == "jwt" {
		a, err := g.buildAuth(st, rc, verifiers, rt.authorized)
		if err != nil {
			return nil, st.cfg.errAt(st.cfg.Line(key+".rules"), key, "%v", err)
		}
		rt.auth = a
	}
	for h, c := range rc.ForwardClaims {
		rt.forward = append(rt.forward, [2]string{http.CanonicalHeaderKey(h), c})
	}
	if rt.downstream == "exchange" {
		e := rc.Exchange
		if e.DPoP {
			b, err := newBoundExchange()
			if err != nil {
				return nil, st.cfg.errAt(st.cfg.Line(key+".exchange.dpop"), key+".exchange.dpop", "%v", err)
			}
			rt.bound = b
		}
		ex, err := relay.NewExchange(relay.ExchangeConfig{
			TokenURL: e.TokenURL, ClientID: e.ClientID, ClientSecret: e.Secret,
			Audience: e.Audience, Scopes: e.Scopes, HTTPClient: g.client, TracerProvider: g.tel.tp,
			DPoP: rt.bound.key(),
		})
		if err != nil {
			return nil, st.cfg.errAt(st.cfg.Line(key+".exchange"), key+".exchange", "%v", err)
		}
		rt.exchange = ex
	}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite:        rt.rewrite,
		Transport:      g.upstreams,
		BufferPool:     g.buffers,
		ModifyResponse: rt.modifyResponse,
		ErrorHandler:   rt.proxyError,
		// FlushInterval 0: ReverseProxy flushes at once for server-sent
		// events and bodies of unknown length, and batches the rest.
	}
	if rt.bound != nil {
		rt.proxy.Transport = rt.bound.transport(rt.proxy.Transport) // a DPoP proof per upstream request
	}
	return rt, nil
}

// ServeHTTP runs a request through the route's steps: IP lists, CORS,
// body limit, the limits keyed by address, the token and rules, the limits
// keyed by the token, then the proxy.
func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := infoOf(w, r)
	info.route = rt
	if !rt.ip.allowed(info.client) {
		refuse(w, http.StatusForbidden, TypeIPDenied, reasonIPDenied, "requests from this address are not allowed on this route")
		return
	}
	if rt.cors != nil {
		if isPreflight(r) {
			rt.preflight(w, r)
			return
		}
		rt.cors.corsHeaders(w.Header(), r.Header.Get("Origin"))
	}
	if refuseLargeBody(w, r, rt.maxBody) { // sizecheck.go
		return
	}
	limitBody(w, r, rt.maxBody)
	if rt.preLimit != nil && !rt.preLimit.check(w, r, info, nil) {
		return
	}
	if rt.auth != nil {
		rt.auth.serve(w, r)
		return
	}
	rt.authorized(w, r)
}

// authorized continues a request that passed the token check and rules
// (or that needs none).
func (rt *route) authorized(w http.ResponseWriter, r *http.Request) {
	info := infoOf(w, r)
	info.authed = true
	p, _ := guard.PrincipalFrom(r.Context())
	if p != nil {
		info.sub, info.clientID = p.Subject, p.ClientID
	}
	if g := rt.st.global; g != nil && g.principal && !g.check(w, r, info, p) {
		return
	}
	if rt.postLimit != nil && !rt.postLimit.check(w, r, info, p) {
		return
	}
	if rt.exchange != nil {
		tok, err := rt.exchange.Token(r.Context())
		if err != nil {
			rt.g.log.LogAttrs(r.Context(), 8, "token exchange failed", attrRoute(rt.name), attrErr(err))
			status, detail := http.StatusBadGateway, "the token for the upstream service could not be obtained"
			if errors.Is(err, relay.ErrTokenExpired) {
				status, detail = http.StatusUnauthorized, "the access token expires too soon to be exchanged; renew it"
				w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token", error_description="the access token expires too soon to be exchanged"`)
			}
			refuse(w, status, TypeBadGateway, reasonExchange, detail)
			return
		}
		info.outToken = tok
	}
	info.upstream = rt.pick()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	info.timer = time.AfterFunc(rt.timeout, func() {
		info.timedOut.Store(true)
		cancel()
	})
	defer info.timer.Stop()
	info.proxied = true
	// The proxy's callbacks find info in the context (serve.go).
	info.ctx.Context, info.ctx.info = ctx, info
	rt.proxy.ServeHTTP(w, r.WithContext(info.ctx))
}
