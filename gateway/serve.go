package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gatehousehq/gatehouse/internal/bodyread"
)

// The front door: the checks every request passes before routing, in
// order (cheap ones first), then the route mux.

// reqInfo is what one request collects for routing, the access log and the
// metrics.
type reqInfo struct {
	start    time.Time
	client   netip.Addr
	key      netip.Addr // client as one client: an IPv6 address cut to its /64 (clientip.go)
	trusted  bool       // the peer is a trusted proxy
	route    *route
	refused  string
	upstream *upstream
	sub      string
	clientID string
	outToken string
	proxied  bool
	authed   bool
	timedOut atomic.Bool
	timer    *time.Timer
	body     *bodyread.Body // nil: no body, or not bounded
	ctx      *proxyContext  // the context of the proxy step (route.authorized)
}

// exchange is one request's record and its answer's recorder, allocated
// together.
type exchange struct {
	info reqInfo
	rec  recorder
	ctx  proxyContext
}

type infoKey struct{}

// infoOf finds the reqInfo of a request: through the gateway's recorder
// before the proxy step, through the context of the proxy step after.
func infoOf(w http.ResponseWriter, r *http.Request) *reqInfo {
	if rec, ok := w.(*recorder); ok {
		return rec.info
	}
	return infoFrom(r.Context())
}

func infoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

// proxyContext is the context of the proxy step: its cancelable context
// and the request's reqInfo for the proxy's callbacks (rewrite,
// modifyResponse, proxyError), without an allocation of its own.
type proxyContext struct {
	context.Context
	info *reqInfo
}

// Value implements context.Context.
func (c *proxyContext) Value(key any) any {
	if key == (infoKey{}) {
		return c.info
	}
	return c.Context.Value(key)
}

// serveHTTP is the gateway's front door: the checks that do not depend on
// the route, then the route mux.
func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	st := g.state.Load()
	x := &exchange{info: reqInfo{start: time.Now()}}
	info, rec := &x.info, &x.rec
	*rec = recorder{ResponseWriter: w, info: info, status: http.StatusOK}
	info.ctx = &x.ctx
	if r.Body != nil && r.Body != http.NoBody {
		// The steps replace the body (bodyread, the size limit): on a
		// copy, so that the server's request stays as it was.
		r = r.WithContext(r.Context())
	}
	st.secHeaders(rec.Header(), r.TLS != nil)
	closeAfterChunked(rec, r)                         // headers.go
	if upgrade := stripUpgrades(r.Header); !upgrade { // headers.go
		// Before any refusal: a body the gateway does not read is
		// discarded by the server under the same bounds. Not for an
		// upgrade, whose connection outlives the request.
		info.body = bodyread.Wrap(w, r, st.bodyLimits)
	}
	g.metrics.inFlight.Inc()
	defer g.metrics.inFlight.Dec()
	defer g.finish(st, rec, r)

	select {
	case st.sem <- struct{}{}:
		defer func() { <-st.sem }()
	default:
		rec.Header().Set("Retry-After", "1")
		refuse(rec, http.StatusServiceUnavailable, TypeOverloaded, reasonOverloaded, "the gateway is at its limit of concurrent requests; retry shortly")
		return
	}
	if !st.methods.allowed(r.Method) { // methodcheck.go
		refuseMethod(rec)
		return
	}
	if st.refuseOversizedHead(rec, r) { // sizecheck.go
		return
	}
	if host := normalizeHost(r.Host); host != r.Host {
		if r.Body == nil || r.Body == http.NoBody {
			r = r.WithContext(r.Context()) // not copied above
		}
		r.Host = host
	}
	if why := st.checkPath(r); why != "" { // pathcheck.go
		refuse(rec, http.StatusBadRequest, TypeAmbiguousPath, reasonAmbiguousPath, why)
		return
	}
	info.client, info.trusted = st.clientAddr(r) // clientip.go
	st.binding.stripCertHeaders(r, info.trusted) // binding.go
	if !info.client.IsValid() {
		refuse(rec, http.StatusBadRequest, TypeBadClientAddress, reasonBadClientAddress,
			"the client address the trusted proxy forwarded cannot be read")
		return
	}
	if !st.ip.allowed(info.client) { // iplist.go
		refuse(rec, http.StatusForbidden, TypeIPDenied, reasonIPDenied, "requests from this address are not allowed")
		return
	}
	info.key = clientKey(info.client, st.ipv6Bits)
	if st.inFlight != nil { // inflight.go
		if !st.inFlight.take(info.key) {
			rec.Header().Set("Retry-After", "1")
			refuse(rec, http.StatusTooManyRequests, TypeTooManyInFlight, reasonTooManyInFlight,
				fmt.Sprintf("this client has %d requests in flight, the most allowed; retry when one has finished", st.inFlight.max))
			return
		}
		defer st.inFlight.give(info.key)
	}
	if refuseLargeBody(rec, r, st.limits.MaxBodyBytes) { // sizecheck.go
		return
	}
	if st.global != nil && !st.global.principal {
		if !st.global.check(rec, r, info, nil) {
			return
		}
	}
	st.mux.ServeHTTP(rec, r)
}
