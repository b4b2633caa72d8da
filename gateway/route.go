package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/bodyread"
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
}

// upstream is one upstream URL with its health.
type upstream struct {
	url       *url.URL
	fails     atomic.Int32
	downUntil atomic.Int64 // unix nanoseconds; passive health
	down      atomic.Bool  // active health
}

func (u *upstream) healthy(now int64) bool {
	return !u.down.Load() && u.downUntil.Load() <= now
}

func (g *Gateway) buildRoute(st, old *state, rc *Route, i int, verifiers map[string]*issuerVerifier) (*route, error) {
	rt := &route{
		name: rc.Name, st: st, g: g, cfg: rc,
		failures: DefaultPassiveFailures, cooldown: DefaultPassiveCooldown,
		timeout: orDefault(rc.Timeout, st.limits.UpstreamTimeout),
		maxBody: orDefault(rc.MaxBodyBytes, st.limits.MaxBodyBytes),
		ip:      newIPFilter(rc.IP), downstream: rc.Downstream,
		duration: g.metrics.duration.WithLabelValues(rc.Name),
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
		ex, err := relay.NewExchange(relay.ExchangeConfig{
			TokenURL: e.TokenURL, ClientID: e.ClientID, ClientSecret: e.Secret,
			Audience: e.Audience, Scopes: e.Scopes, HTTPClient: g.client,
		})
		if err != nil {
			return nil, st.cfg.errAt(st.cfg.Line(key+".exchange"), key+".exchange", "%v", err)
		}
		rt.exchange = ex
	}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite:        rt.rewrite,
		Transport:      g.transport,
		BufferPool:     g.buffers,
		ModifyResponse: rt.modifyResponse,
		ErrorHandler:   rt.proxyError,
		// FlushInterval 0: ReverseProxy flushes at once for server-sent
		// events and bodies of unknown length, and batches the rest.
	}
	return rt, nil
}

// ServeHTTP runs a request through the route's steps: IP lists, CORS,
// body limit, the limits keyed by address, the token and rules, the limits
// keyed by the token, then the proxy.
func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := infoFrom(r.Context())
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
	if r.ContentLength > rt.maxBody {
		refuse(w, http.StatusRequestEntityTooLarge, TypePayloadTooLarge, reasonBodyTooLarge, fmt.Sprintf("the request body is larger than %d bytes", rt.maxBody))
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		// The server's own writer, so that it closes the connection
		// after a body over the limit instead of reading the rest.
		bw := w
		if rec, ok := w.(*recorder); ok {
			bw = rec.ResponseWriter
		}
		r.Body = http.MaxBytesReader(bw, r.Body, rt.maxBody)
	}
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
	info := infoFrom(r.Context())
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
	rt.proxy.ServeHTTP(w, r.WithContext(ctx))
}

// pick chooses the next healthy upstream, round robin. When none is
// healthy it takes the next one anyway: a request is better spent on an
// upstream that may have recovered than refused outright.
func (rt *route) pick() *upstream {
	n := rt.next.Add(1)
	ups := rt.upstreams
	if len(ups) == 1 {
		return ups[0]
	}
	now := time.Now().UnixNano()
	for i := range ups {
		u := ups[(n+uint64(i))%uint64(len(ups))]
		if u.healthy(now) {
			return u
		}
	}
	return ups[n%uint64(len(ups))]
}

// spoofable are request headers (by claimHeaderKey) that tell some servers
// a client address, the original URL or another method; a client never
// gets to set them upstream, in any spelling ("X_Real_IP" too, which CGI
// and WSGI servers read as X-Real-IP). The gateway sets X-Forwarded-For,
// -Host, -Proto and Forwarded itself: of those, only "_" spellings go.
var spoofable = map[string]bool{
	"x-real-ip": true, "true-client-ip": true, "x-client-ip": true, "cf-connecting-ip": true,
	"x-forwarded-port": true, "x-forwarded-prefix": true, "x-forwarded-ssl": true, "x-forwarded-scheme": true,
	"x-original-url": true, "x-rewrite-url": true, "x-original-uri": true,
	"x-http-method-override": true, "x-http-method": true, "x-method-override": true,
	// Set by the gateway itself: only their "_" spellings are the client's.
	"x-forwarded-for": false, "x-forwarded-host": false, "x-forwarded-proto": false, "forwarded": false,
}

// rewrite builds the outbound request (httputil.ReverseProxy.Rewrite; the
// proxy has already removed hop-by-hop and X-Forwarded-* headers).
func (rt *route) rewrite(pr *httputil.ProxyRequest) {
	info := infoFrom(pr.In.Context())
	out := pr.Out
	if p := rt.stripPrefix; p != "" {
		out.URL.Path = "/" + strings.TrimLeft(strings.TrimPrefix(out.URL.Path, p), "/")
		if out.URL.RawPath != "" {
			out.URL.RawPath = "/" + strings.TrimLeft(strings.TrimPrefix(out.URL.RawPath, p), "/")
		}
	}
	pr.SetURL(info.upstream.url)
	if info.trusted {
		if v := pr.In.Header["X-Forwarded-For"]; len(v) > 0 {
			out.Header["X-Forwarded-For"] = v
		}
	}
	pr.SetXForwarded()
	for k := range out.Header {
		if strings.IndexByte(k, '_') < 0 { // canonical already: no allocation
			if rt.st.dropHeaders[k] {
				delete(out.Header, k)
			}
			continue
		}
		key := claimHeaderKey(k)
		if _, listed := spoofable[key]; listed || rt.st.claimHeaders[key] {
			delete(out.Header, k)
		}
	}
	if p, ok := guard.PrincipalFrom(pr.In.Context()); ok {
		for _, f := range rt.forward {
			if v := headerSafe(claimString(p, f[1])); v != "" {
				out.Header[f[0]] = []string{v}
			}
		}
	}
	switch rt.downstream {
	case "strip":
		delete(out.Header, "Authorization")
	case "exchange":
		out.Header["Authorization"] = []string{"Bearer " + info.outToken}
	}
}

// modifyResponse ends the upstream timeout (the headers arrived), records
// the upstream's health and makes the gateway's security and CORS headers
// the only ones.
func (rt *route) modifyResponse(resp *http.Response) error {
	info := infoFrom(resp.Request.Context())
	if info.timer != nil && !info.timer.Stop() && info.timedOut.Load() {
		return errTimeout
	}
	info.upstream.fails.Store(0)
	rt.st.dropSecHeaders(resp.Header)
	if rt.cors != nil {
		for k := range resp.Header {
			if strings.HasPrefix(k, "Access-Control-") {
				delete(resp.Header, k)
			}
		}
	}
	return nil
}

var errTimeout = errors.New("gateway: upstream timeout")

// proxyError answers a failed upstream call: 504 after the route's
// timeout, 413 for a body over the limit, 502 otherwise. The client sees
// no upstream address or error text; the log does.
func (rt *route) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	info := infoFrom(r.Context())
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		refuse(w, http.StatusRequestEntityTooLarge, TypePayloadTooLarge, reasonBodyTooLarge, fmt.Sprintf("the request body is larger than %d bytes", rt.maxBody))
		return
	case info.body.TimedOut() || errors.Is(err, bodyread.ErrTimeout):
		// The client's fault, not the upstream's: no failure counted. On
		// HTTP/1 net/http has cancelled the context (err may say only
		// that) and closes the connection after this answer.
		w.Header().Set("Connection", "close")
		refuse(w, http.StatusRequestTimeout, TypeRequestTimeout, reasonBodyTimeout, "the request body did not arrive in time")
		return
	case info.timedOut.Load() || errors.Is(err, errTimeout) || isTimeout(err):
		rt.failed(info.upstream)
		rt.g.metrics.upstreamErrors.WithLabelValues(rt.name, "timeout").Inc()
		rt.g.log.LogAttrs(r.Context(), 4, "upstream timeout", attrRoute(rt.name), attrUpstream(info.upstream), attrErr(err))
		refuse(w, http.StatusGatewayTimeout, TypeGatewayTimeout, "", "the upstream service did not answer in time")
	case r.Context().Err() != nil:
		// The client went away; there is no one to answer.
		info.refused = "client_closed"
		w.WriteHeader(499)
	default:
		rt.failed(info.upstream)
		rt.g.metrics.upstreamErrors.WithLabelValues(rt.name, "unreachable").Inc()
		rt.g.log.LogAttrs(r.Context(), 4, "upstream error", attrRoute(rt.name), attrUpstream(info.upstream), attrErr(err))
		refuse(w, http.StatusBadGateway, TypeBadGateway, "", "the upstream service could not be reached")
	}
}

// failed counts a failed attempt; after rt.failures in a row the upstream
// is skipped for the cooldown.
func (rt *route) failed(u *upstream) {
	if u == nil || rt.failures <= 0 {
		return
	}
	if u.fails.Add(1) >= int32(rt.failures) {
		u.fails.Store(0)
		u.downUntil.Store(time.Now().Add(rt.cooldown).UnixNano())
		rt.g.log.Warn("upstream skipped after consecutive failures", "route", rt.name, "upstream", u.url.Redacted(), "cooldown", rt.cooldown.String())
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// startHealthChecks runs the route's active health check until ctx ends.
func (rt *route) startHealthChecks(ctx context.Context, g *Gateway) {
	hc := rt.cfg.HealthCheck
	if hc == nil {
		return
	}
	interval := orDefault(hc.Interval, DefaultHealthInterval)
	timeout := orDefault(hc.Timeout, min(interval, 2*time.Second))
	client := &http.Client{Transport: g.transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, u := range rt.upstreams {
		target := u.url.JoinPath(hc.Path).String()
		go func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			for {
				rt.probe(ctx, client, u, target)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
}

func (rt *route) probe(ctx context.Context, client *http.Client, u *upstream, target string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return
	}
	req.Header.Set("User-Agent", "gatehouse-gateway-health")
	resp, err := client.Do(req)
	ok := err == nil && resp.StatusCode < 400
	if err == nil {
		resp.Body.Close()
	}
	if ctx.Err() != nil {
		return
	}
	if was := u.down.Swap(!ok); was == ok {
		state := "up"
		if !ok {
			state = "down"
		}
		rt.g.log.Info("upstream health changed", "route", rt.name, "upstream", u.url.Redacted(), "state", state)
	}
}

// bufferPool lends ReverseProxy its 32 KiB copy buffers, which it would
// otherwise allocate (and the GC clear and collect) on every request.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

// Get implements httputil.BufferPool.
func (bp *bufferPool) Get() []byte { return *(bp.p.Get().(*[]byte)) }

// Put implements httputil.BufferPool.
func (bp *bufferPool) Put(b []byte) {
	if cap(b) == 32<<10 {
		bp.p.Put(&b)
	}
}

var _ httputil.BufferPool = (*bufferPool)(nil)
