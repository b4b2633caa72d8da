package gateway

import (
	"net/http"
	"path"
	"strconv"
	"strings"
)

// The path check: the gateway decides on authentication by the route it
// matches, so a path that an upstream could read as another route's is
// refused (400, TypeAmbiguousPath) before routing. Cheap checks first.
//
//  1. Encodings and characters that servers decode or drop in different
//     ways: %2F, %5C, %2E, %00, ";" (matrix parameters, Tomcat's "..;")
//     and "\".
//  2. A path not in canonical form: dot segments, empty segments ("//"),
//     a segment that ends in a dot (dropped by Windows hosts).
//  3. A path that matches another route when read without case (Express,
//     ASP.NET Core, Windows hosts route without case).
//  4. A path that ends in "/" and matches another route without it
//     (Express, ASP.NET Core and older Spring ignore a trailing slash):
//     DELETE /api/orders/A1/ must not pass under a prefix route's rules
//     beside a DELETE /api/orders/{id} that admits admins only.
//
// A path whose every reading matches the same route passes as sent.

// checkPath explains why the path of r is refused, or returns "".
func (st *state) checkPath(r *http.Request) string {
	if why := ambiguousPath(r); why != "" {
		return why
	}
	return st.routeAmbiguous(r)
}

// ambiguousPath explains why the path of r could be read differently by
// the gateway and by the upstream, or "" when it cannot (checks 1 and 2).
// The gateway routes by the path as it reads it; an upstream that decoded
// "%2F" or resolved "..;" would serve another resource than the route's.
func ambiguousPath(r *http.Request) string {
	raw := r.URL.EscapedPath()
	lower := strings.ToLower(raw)
	for _, bad := range []string{"%2f", "%5c", "%2e", "%00", ";", "\\"} {
		if strings.Contains(lower, bad) {
			return "the request path holds " + strconv.Quote(bad) + ", which servers read in different ways; send the path without it"
		}
	}
	p := r.URL.Path
	clean := p
	if !strings.HasPrefix(clean, "/") {
		clean = "/" + clean
	}
	clean = path.Clean(clean) // no allocation when p is clean already
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		return "the request path is not in canonical form (dot segments or empty segments); send " + strconv.Quote(clean)
	}
	if strings.HasSuffix(p, ".") || strings.Contains(p, "./") { // a segment that ends with a dot
		return "a segment of the request path ends with a dot, which some servers drop; send the path without it"
	}
	return ""
}

// routeAmbiguous explains why the path of r, in canonical form already,
// would match another route when read without case or without its
// trailing slash (checks 3 and 4), or returns "". Paths in lowercase
// without a trailing slash, nearly all, cost nothing.
func (st *state) routeAmbiguous(r *http.Request) string {
	p := r.URL.Path
	lower := strings.ToLower(p)
	folded := lower != p
	slash := len(p) > 1 && p[len(p)-1] == '/'
	if !folded && !slash {
		return ""
	}
	_, pattern := st.mux.Handler(r)
	raw := st.routeName(pattern)
	if folded && st.routeFor(r, lower) != raw {
		return "the request path matches another route when compared without case; send it in the case of the route"
	}
	if !slash {
		return ""
	}
	for _, q := range []string{p, lower} {
		// Without the slash the mux may redirect to q itself (a route
		// whose pattern ends in "/"): that is q's route, not another.
		if got := st.routeFor(r, q[:len(q)-1]); got != raw && got != q {
			return "the request path ends with a slash and matches another route without it; send it without the trailing slash"
		}
		if !folded {
			break
		}
	}
	return ""
}

// routeFor is the route (see routeName) that r would match with path p.
func (st *state) routeFor(r *http.Request, p string) string {
	r2 := *r // shallow, as Request.WithContext copies: only URL changes
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	_, pattern := st.mux.Handler(&r2)
	return st.routeName(pattern)
}

// routeName is the name of the route whose pattern the mux matched, or,
// when no route's (the catch-all "/", a redirect, 405), the pattern the
// mux returned. Route names hold no "/", patterns do: the two never clash.
func (st *state) routeName(pattern string) string {
	if name, ok := st.routeOf[pattern]; ok {
		return name
	}
	return pattern
}

// normalizeHost lowercases host and drops a trailing dot of its name, so
// that "ADMIN.example." is matched (and forwarded) as "admin.example".
func normalizeHost(host string) string {
	name, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		name, port = host[:i], host[i:]
	}
	return strings.TrimSuffix(strings.ToLower(name), ".") + port
}
