package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// matchTarget is what the mux dispatches to for one route: the route's
// handler and, where the route's own patterns do not match OPTIONS, the
// handler of CORS preflights.
type matchTarget struct {
	handler   http.Handler
	preflight http.Handler // nil: the route has no CORS policy
	methods   []string
}

// matcher is the route mux and, for the path checks (pathcheck.go), the
// route of each pattern registered on it.
type matcher struct {
	mux *http.ServeMux
	// routeOf maps a registered pattern to its route's name ("/", the
	// catch-all, is absent unless a route took it).
	routeOf map[string]string
}

// buildMatcher registers every route on one http.ServeMux, whose precedence
// is the "most specific first" of the gateway: a pattern with a host wins
// over one without, a longer literal path over a shorter one, a method over
// none. A path route is a prefix by path segments: /api/accounts matches
// /api/accounts and /api/accounts/..., not /api/accountsX. Requests that
// match no route reach the catch-all, which answers 404.
func buildMatcher(routes []Route, target func(i int) matchTarget) (*matcher, error) {
	mux := http.NewServeMux()
	m := &matcher{mux: mux, routeOf: map[string]string{}}
	register := func(i int, pattern string, h http.Handler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("routes[%d] (%s): %v", i, routes[i].Name, p)
			}
		}()
		mux.Handle(pattern, h)
		m.routeOf[pattern] = routes[i].Name
		return nil
	}
	type preflights struct {
		first   int
		targets []matchTarget
	}
	options := map[string]*preflights{}
	var optionOrder []string
	for i := range routes {
		r := &routes[i]
		t := target(i)
		methods, paths := routePatterns(r)
		for _, p := range paths {
			if len(methods) == 0 {
				if err := register(i, p, t.handler); err != nil {
					return nil, err
				}
				continue
			}
			for _, m := range methods {
				if err := register(i, m+" "+p, t.handler); err != nil {
					return nil, err
				}
			}
			if t.preflight != nil && !slices.Contains(methods, http.MethodOptions) {
				key := "OPTIONS " + p
				pf := options[key]
				if pf == nil {
					pf = &preflights{first: i}
					options[key] = pf
					optionOrder = append(optionOrder, key)
				}
				t.methods = methods
				pf.targets = append(pf.targets, t)
			}
		}
	}
	for _, key := range optionOrder {
		pf := options[key]
		if err := register(pf.first, key, preflightDispatch(pf.targets)); err != nil {
			return nil, err
		}
	}
	// The catch-all; a route with the pattern "/" takes its place.
	func() {
		defer func() { recover() }()
		mux.Handle("/", http.HandlerFunc(noRoute))
	}()
	return m, nil
}

// routePatterns returns the methods and the host+path patterns of r.
func routePatterns(r *Route) (methods, paths []string) {
	methods = r.Methods
	host := normalizeHost(r.Host) // requests' hosts are normalized the same way
	if r.Pattern != "" {
		p := strings.TrimSpace(r.Pattern)
		if m, rest, ok := strings.Cut(p, " "); ok {
			methods = []string{m}
			p = strings.TrimLeft(rest, " ")
		}
		return methods, []string{host + p}
	}
	p := r.Path
	if p == "/" || strings.HasSuffix(p, "/") {
		return methods, []string{host + p}
	}
	return methods, []string{host + p, host + p + "/"}
}

// preflightDispatch answers a preflight on a path that several routes
// share, with the route whose methods hold the requested method.
func preflightDispatch(ts []matchTarget) http.Handler {
	if len(ts) == 1 {
		return ts[0].preflight
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := r.Header.Get("Access-Control-Request-Method")
		for _, t := range ts {
			if slices.Contains(t.methods, want) || (want == http.MethodHead && slices.Contains(t.methods, http.MethodGet)) {
				t.preflight.ServeHTTP(w, r)
				return
			}
		}
		ts[0].preflight.ServeHTTP(w, r)
	})
}
