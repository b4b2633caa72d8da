package gateway

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The CORS policy of a route: which origins may read its answers, and the
// answers to preflights (Fetch §3.2). Origins compare without case; a
// wildcard pattern needs a label of its own before its suffix.

// corsPolicy is a route's CORS configuration, resolved.
type corsPolicy struct {
	any         bool
	exact       map[string]bool
	patterns    []originPattern
	methods     []string
	methodsHdr  string
	headers     map[string]bool
	anyHeader   bool
	exposed     string
	credentials bool
	maxAge      string
}

type originPattern struct {
	scheme, suffix, port string
}

// parseOriginPattern reads an origin ("https://app.example.com:8443") or a
// pattern whose host starts with "*." ("https://*.example.com").
func parseOriginPattern(s string) (originPattern, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return originPattern{}, errOrigin(s)
	}
	host := u.Hostname()
	if strings.Contains(host, "*") && (!strings.HasPrefix(host, "*.") || strings.Count(host, "*") != 1 || strings.Count(host, ".") < 2) {
		return originPattern{}, errOrigin(s)
	}
	return originPattern{scheme: u.Scheme, suffix: strings.TrimPrefix(strings.ToLower(host), "*"), port: u.Port()}, nil
}

type errOrigin string

func (e errOrigin) Error() string {
	return strconv.Quote(string(e)) + " is not an origin (scheme://host[:port]) or a pattern like https://*.example.com"
}

func newCORS(c *CORS, routeMethods []string) *corsPolicy {
	if c == nil {
		return nil
	}
	// The wildcard patterns were parsed by Config.Validate.
	p := &corsPolicy{exact: map[string]bool{}, headers: map[string]bool{}, credentials: c.AllowCredentials, patterns: c.patterns}
	for _, o := range c.AllowedOrigins {
		switch {
		case o == "*":
			p.any = true
		case strings.Contains(o, "*"):
		default:
			p.exact[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
		}
	}
	p.methods = c.AllowedMethods
	if len(p.methods) == 0 {
		p.methods = routeMethods
	}
	if len(p.methods) == 0 {
		p.methods = []string{http.MethodGet, http.MethodHead, http.MethodPost}
	}
	p.methodsHdr = strings.Join(p.methods, ", ")
	for _, h := range c.AllowedHeaders {
		if h == "*" {
			p.anyHeader = true
		}
		p.headers[strings.ToLower(h)] = true
	}
	p.exposed = strings.Join(c.ExposedHeaders, ", ")
	if c.MaxAge > 0 {
		p.maxAge = strconv.FormatInt(int64(c.MaxAge/time.Second), 10)
	}
	return p
}

// originAllowed reports whether origin may read responses. Origins compare
// case-insensitively; a pattern needs at least one label before its
// suffix, the same scheme and the same port.
func (p *corsPolicy) originAllowed(origin string) bool {
	if p.any {
		return true
	}
	o := strings.ToLower(origin)
	if p.exact[o] {
		return true
	}
	if len(p.patterns) == 0 {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.Path != "" || u.User != nil {
		return false
	}
	host := u.Hostname()
	for _, pt := range p.patterns {
		if u.Scheme == pt.scheme && u.Port() == pt.port && len(host) > len(pt.suffix) && strings.HasSuffix(host, pt.suffix) {
			label := host[:len(host)-len(pt.suffix)]
			if !strings.ContainsAny(label, "/@:") && !strings.HasPrefix(label, ".") {
				return true
			}
		}
	}
	return false
}

// allowOrigin is the Access-Control-Allow-Origin value for origin.
func (p *corsPolicy) allowOrigin(origin string) string {
	if p.any && !p.credentials {
		return "*"
	}
	return origin
}

// isPreflight reports whether r is a CORS preflight (Fetch §3.2.2).
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a CORS preflight: 204 with the policy, or 403 when the
// origin, method or a header is not allowed.
func (rt *route) preflight(w http.ResponseWriter, r *http.Request) {
	p := rt.cors
	info := infoOf(w, r)
	info.route = rt
	if !isPreflight(r) {
		// OPTIONS that is not a preflight, on a route without OPTIONS
		// among its methods: no route takes it.
		noRoute(w, r)
		return
	}
	if !rt.ip.allowed(info.client) {
		refuse(w, http.StatusForbidden, TypeIPDenied, reasonIPDenied, "requests from this address are not allowed on this route")
		return
	}
	h := w.Header()
	h.Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
	origin := r.Header.Get("Origin")
	if !p.originAllowed(origin) {
		refuse(w, http.StatusForbidden, TypeCORSRefused, reasonCORS, "this origin may not call this route")
		return
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if !slices.Contains(p.methods, method) {
		refuse(w, http.StatusForbidden, TypeCORSRefused, reasonCORS, "this method is not allowed from other origins")
		return
	}
	var reqHeaders []string
	for _, v := range r.Header.Values("Access-Control-Request-Headers") {
		for _, name := range strings.Split(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			lower := strings.ToLower(name)
			if !p.headers[lower] && !(p.anyHeader && !p.credentials && lower != "authorization") {
				refuse(w, http.StatusForbidden, TypeCORSRefused, reasonCORS, "a requested header is not allowed from other origins")
				return
			}
			reqHeaders = append(reqHeaders, lower)
		}
	}
	h.Set("Access-Control-Allow-Origin", p.allowOrigin(origin))
	h.Set("Access-Control-Allow-Methods", p.methodsHdr)
	if len(reqHeaders) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ", "))
	}
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if p.maxAge != "" {
		h.Set("Access-Control-Max-Age", p.maxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}

// corsHeaders sets the CORS headers of an actual (not preflight) request
// from an allowed origin.
func (p *corsPolicy) corsHeaders(h http.Header, origin string) {
	h.Add("Vary", "Origin")
	if origin == "" || !p.originAllowed(origin) {
		return
	}
	h.Set("Access-Control-Allow-Origin", p.allowOrigin(origin))
	if p.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if p.exposed != "" {
		h.Set("Access-Control-Expose-Headers", p.exposed)
	}
}
