package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/bodyread"
)

// The proxy step of a route: the outbound request, the upstream's answer
// and the answers to failed upstream calls.

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
	rt.st.dropClientHeaders(out.Header) // headers.go
	if p, ok := guard.PrincipalFrom(pr.In.Context()); ok {
		for _, f := range rt.forward {
			if v := headerSafe(claimString(p, f[1])); v != "" {
				out.Header[f[0]] = []string{v}
			}
		}
	}
	if rt.downstream != "relay" {
		dropProof(out.Header) // binding.go: the client's proof goes with its token
	}
	switch rt.downstream {
	case "strip":
		delete(out.Header, "Authorization")
	case "exchange":
		rt.setExchanged(out, info.outToken) // exchangebound.go: Bearer, or DPoP with a proof
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
	rt.rememberNonce(resp) // exchangebound.go
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
		refuseBodyTooLarge(w, rt.maxBody)
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

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
