package demo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/ratelimit"
	"github.com/gatehousehq/gatehouse/token"
)

// standIn is a thin gateway for the demo until package gateway lands: prefix
// routes to httputil.ReverseProxy (Rewrite only), the JWT check before
// routing, a per-client rate limit, a body limit and CORS origins. It reads
// the same gatewayConfig as the YAML of the real gateway.
type standIn struct {
	routes   []*standInRoute
	verifier *token.Verifier
	requests sync.Map // "route code" → *atomic.Int64
}

type standInRoute struct {
	gatewayRoute
	proxy   *httputil.ReverseProxy
	limiter ratelimit.Limiter
}

func newStandIn(_ context.Context, p *platform, cfg gatewayConfig, eng *engines) (*standIn, error) {
	v, err := token.NewVerifier(p.keys, cfg.Issuer, cfg.Audience, token.WithRevoker(p.revoker))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errGatewayConfig, err)
	}
	g := &standIn{verifier: v}
	for _, rc := range cfg.Routes {
		u, err := url.Parse(rc.Upstream)
		if err != nil {
			return nil, fmt.Errorf("%w: route %s: upstream: %w", errGatewayConfig, rc.Name, err)
		}
		r := &standInRoute{gatewayRoute: rc}
		r.proxy = &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
			Transport: p.base,
			ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body exceeds %d bytes", mbe.Limit))
					return
				}
				p.log.WarnContext(req.Context(), "upstream failed", "route", rc.Name, "error", err)
				writeProblem(w, http.StatusBadGateway, "the "+rc.Name+" service is unavailable")
			},
		}
		if rc.RateLimit != nil {
			if r.limiter, err = eng.limits(*rc.RateLimit); err != nil {
				return nil, fmt.Errorf("%w: route %s: %w", errGatewayConfig, rc.Name, err)
			}
		}
		g.routes = append(g.routes, r)
	}
	// Longest prefix first.
	sort.Slice(g.routes, func(i, j int) bool { return len(g.routes[i].Path) > len(g.routes[j].Path) })
	return g, nil
}

func (g *standIn) Close() error { return nil }

func (g *standIn) count(route string, code int) {
	v, _ := g.requests.LoadOrStore(fmt.Sprintf("%s %d", route, code), new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

// Handler routes requests.
func (g *standIn) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rt *standInRoute
		for _, c := range g.routes {
			if strings.HasPrefix(r.URL.Path, c.Path) {
				rt = c
				break
			}
		}
		if rt == nil {
			g.count("none", http.StatusNotFound)
			writeProblem(w, http.StatusNotFound, "no route for this path")
			return
		}
		rw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		g.serve(rw, r, rt)
		g.count(rt.Name, rw.status)
	})
}

func (g *standIn) serve(w http.ResponseWriter, r *http.Request, rt *standInRoute) {
	// CORS first: a preflight carries no token.
	if origin := r.Header.Get("Origin"); origin != "" {
		w.Header().Add("Vary", "Origin")
		allowed := slices.Contains(rt.CORSOrigins, origin)
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				writeProblem(w, http.StatusForbidden, "origin not allowed")
				return
			}
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if rt.MaxBody > 0 {
		if r.ContentLength > rt.MaxBody {
			writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body exceeds %d bytes", rt.MaxBody))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, rt.MaxBody)
	}
	var claims *token.Claims
	if rt.Auth {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || raw == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gateway"`)
			problem.Write(w, &problem.Problem{Type: problem.TypeAuthenticationRequired, Status: http.StatusUnauthorized, Detail: "a bearer token is required"})
			return
		}
		c, err := g.verifier.Verify(r.Context(), raw)
		if err != nil {
			if errors.Is(err, token.ErrUnavailable) {
				writeProblem(w, http.StatusServiceUnavailable, "the token could not be checked; try again later")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="gateway", error="invalid_token"`)
			detail := "the token was refused"
			var te *token.Error
			if errors.As(err, &te) {
				detail += ": " + te.Kind.Error()
			}
			problem.Write(w, &problem.Problem{Type: problem.TypeInvalidToken, Status: http.StatusUnauthorized, Detail: detail})
			return
		}
		claims = c
	}
	if rt.limiter != nil {
		key := "anonymous"
		if claims != nil {
			key = claims.ClientID
		}
		d, err := rt.limiter.Allow(r.Context(), ratelimit.Key("client_id", key), 1)
		if err != nil {
			return // the client went away
		}
		ratelimit.WriteHeaders(w.Header(), d)
		if !d.Allowed {
			writeProblem(w, http.StatusTooManyRequests, "rate limit of "+rt.Name+" exceeded; retry after the Retry-After seconds")
			return
		}
	}
	rt.proxy.ServeHTTP(w, r) // the token is relayed as it is
}

// AdminHandler serves /healthz and /metrics (request counts by route and
// status, Prometheus text format).
func (g *standIn) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		var lines []string
		g.requests.Range(func(k, v any) bool {
			route, code, _ := strings.Cut(k.(string), " ")
			lines = append(lines, fmt.Sprintf("gatehouse_demo_gateway_requests_total{route=%q,code=%q} %d", route, code, v.(*atomic.Int64).Load()))
			return true
		})
		sort.Strings(lines)
		fmt.Fprintln(w, "# TYPE gatehouse_demo_gateway_requests_total counter")
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	})
	return mux
}
