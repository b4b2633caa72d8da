package guard

import (
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/gatehousehq/gatehouse/internal/problem"
)

// Mux is an http.ServeMux whose routes carry rules: the patterns are Go's
// ("DELETE /api/orders/{id}"), and each route is guarded by the rules given
// with it, which see the path values (r.PathValue) of the match.
//
//	mux := g.Mux()
//	mux.HandleFunc("GET /healthz", healthz, guard.Public)
//	mux.HandleFunc("GET /api/orders/{id}", getOrder, guard.Scope("orders:read"))
//	mux.HandleFunc("DELETE /api/orders/{id}", deleteOrder,
//		guard.Any(guard.Role("admin"), guard.Owner(ownerOfOrder)))
//	http.ListenAndServe(addr, mux)
//
// The pattern "/" is the Mux's catch-all (its rules apply to every
// unmatched request); register it rather than "/{path...}", which conflicts
// with it. A route registered without rules requires a valid token only; with
// [WithDefaultDeny] it is refused (403). A request that matches no route is
// authenticated first, so an anonymous caller cannot probe which routes
// exist, and then answered 404 (through the error writer) or 405
// (problem+json, with Allow); with WithDefaultDeny, 403. Register routes before serving; a Mux is safe for
// concurrent use once it serves.
type Mux struct {
	g     *Guard
	mux   *http.ServeMux // guarded handlers, and the catch-all "/"
	plain *http.ServeMux // the same patterns, to tell 404 from 405
	root  atomic.Pointer[http.Handler]
}

var _ http.Handler = (*Mux)(nil)

// Mux returns a new, empty Mux behind g.
func (g *Guard) Mux() *Mux {
	m := &Mux{g: g, mux: http.NewServeMux(), plain: http.NewServeMux()}
	m.mux.Handle("/", fallbackRoute{m})
	return m
}

// Handle registers h for pattern, behind the given rules (all must allow),
// or [Public]. Without rules the route requires a valid token, or is
// refused with WithDefaultDeny. Like http.ServeMux.Handle it panics on an
// invalid or conflicting pattern.
func (m *Mux) Handle(pattern string, h http.Handler, rules ...Rule) {
	if h == nil {
		panic("guard: nil handler for " + pattern)
	}
	var guardedH http.Handler
	switch {
	case len(rules) == 1 && isPublic(rules[0]):
		guardedH = publicRoute{h}
	case len(rules) == 0 && m.g.defaultDeny:
		guardedH = &guarded{g: m.g, rule: nil, next: h}
	case len(rules) == 0:
		guardedH = &guarded{g: m.g, rule: Authenticated(), next: h}
	case len(rules) == 1:
		mustRules("Handle", rules)
		guardedH = &guarded{g: m.g, rule: rules[0], next: h}
	default:
		guardedH = &guarded{g: m.g, rule: All(rules...), next: h}
	}
	if pattern == "/" {
		// "/" is the Mux's own catch-all; the route becomes its target.
		if !m.root.CompareAndSwap(nil, &guardedH) {
			panic("guard: pattern / registered twice")
		}
	} else {
		m.mux.Handle(pattern, guardedH)
	}
	m.plain.Handle(pattern, http.NotFoundHandler())
}

// HandleFunc registers f for pattern, like [Mux.Handle].
func (m *Mux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request), rules ...Rule) {
	if f == nil {
		panic("guard: nil handler for " + pattern)
	}
	m.Handle(pattern, http.HandlerFunc(f), rules...)
}

// ServeHTTP dispatches r to the route whose pattern matches, through its
// rules. Where http.ServeMux would answer itself (a redirect to the cleaned
// path, or to the path with a trailing slash, which tells that a route
// exists), the caller must present a valid token first.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, _ := m.mux.Handler(r); !routed(h) && !m.toPublic(h, r) {
		if p, r2, ref := m.g.authenticate(r); ref != nil {
			m.g.refuse(w, r2, ref, p)
			return
		}
	}
	m.mux.ServeHTTP(w, r)
}

// routed reports whether h is one of the Mux's own handlers, not one that
// http.ServeMux made up (a redirect).
func routed(h http.Handler) bool {
	switch h.(type) {
	case *guarded, publicRoute, fallbackRoute:
		return true
	}
	return false
}

// toPublic reports whether h, a redirect made by http.ServeMux, leads to a
// [Public] route: anyone may learn where that is.
func (m *Mux) toPublic(h http.Handler, r *http.Request) bool {
	probe := &allowProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	loc, err := url.Parse(probe.header.Get("Location"))
	if err != nil || loc.Path == "" {
		return false
	}
	target := r.Clone(r.Context())
	target.URL = r.URL.ResolveReference(loc)
	th, _ := m.mux.Handler(target)
	_, public := th.(publicRoute)
	return public
}

// publicRoute is a route registered with [Public].
type publicRoute struct{ http.Handler }

// fallbackRoute is the Mux's catch-all "/".
type fallbackRoute struct{ m *Mux }

func (f fallbackRoute) ServeHTTP(w http.ResponseWriter, r *http.Request) { f.m.fallback(w, r) }

// fallback serves what no pattern of the caller matched.
func (m *Mux) fallback(w http.ResponseWriter, r *http.Request) {
	if root := m.root.Load(); root != nil {
		(*root).ServeHTTP(w, r)
		return
	}
	g := m.g
	r = r.WithContext(r.Context())
	r.Pattern = "" // not the catch-all's "/": the audit log shows the path
	p, r, ref := g.authenticate(r)
	if ref == nil && g.defaultDeny {
		ref = &Refusal{Reason: ReasonForbidden, Detail: "no rule allows this route"}
	}
	if ref != nil {
		g.refuse(w, r, ref, p)
		return
	}
	// 404, or 405 with Allow when another method of the path is routed.
	h, _ := m.plain.Handler(r)
	probe := &allowProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		problem.Write(w, &problem.Problem{Type: problem.TypeMethodNotAllowed, Status: http.StatusMethodNotAllowed,
			Detail: "allowed methods: " + allow})
		return
	}
	g.writeError(w, r, http.StatusNotFound, &Refusal{Reason: ReasonNotFound})
}

// allowProbe records what http.ServeMux would answer.
type allowProbe struct {
	header http.Header
	status int
}

func (p *allowProbe) Header() http.Header { return p.header }
func (p *allowProbe) WriteHeader(status int) {
	if p.status == 0 {
		p.status = status
	}
}
func (p *allowProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}
