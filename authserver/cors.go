package authserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gatehousehq/gatehouse/identity"
)

// CORS (the Fetch standard's CORS protocol) for browser clients: a
// single-page app on another origin reads discovery, the JWKS, the token,
// userinfo, revocation and end-session endpoints. The origins allowed are
// those of the registered clients: the origins of each client's redirect
// URIs, plus its AllowedOrigins. Discovery, JWKS and end-session answer any
// registered origin; the token and revocation endpoints answer a known
// client only on its own origins, userinfo a valid token only on the
// origins of the client it was issued to. Errors found before the client
// is known (a malformed request, failed client authentication, an invalid
// token) are readable by any registered origin, so that an app can tell
// "log in again" from a network failure; they carry no data of any
// client. Other origins get no CORS headers at all, so the browser keeps
// the answer from the page. Cookies are never involved: no
// Access-Control-Allow-Credentials.

// corsMaxAge is how long a browser may cache a preflight answer (seconds).
const corsMaxAge = "600"

// corsAllowedHeaders are the request headers a browser client may send.
const corsAllowedHeaders = "Authorization, Content-Type, DPoP"

// corsExposedHeaders are the response headers a browser client may read.
const corsExposedHeaders = "WWW-Authenticate, DPoP-Nonce"

// corsIndex maps an allowed origin to the clients that allow it. It is
// rebuilt from the store at every reload and never changed in place.
type corsIndex map[string][]string

// newCORSIndex builds the index of clients.
func newCORSIndex(clients []*identity.Client) corsIndex {
	idx := corsIndex{}
	for _, c := range clients {
		for _, o := range ClientOrigins(c) {
			idx[o] = append(idx[o], c.ID)
		}
	}
	return idx
}

// ClientOrigins returns the browser origins of c: those of its http(s)
// redirect URIs and its AllowedOrigins, normalised (see ParseOrigin), each
// once.
func ClientOrigins(c *identity.Client) []string {
	var out []string
	add := func(o string) {
		for _, have := range out {
			if have == o {
				return
			}
		}
		out = append(out, o)
	}
	for _, r := range c.RedirectURIs {
		if u, err := url.Parse(r); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			if o, err := identity.ParseOrigin(u.Scheme + "://" + u.Host); err == nil {
				add(o)
			}
		}
	}
	for _, a := range c.AllowedOrigins {
		if o, err := identity.ParseOrigin(a); err == nil {
			add(o)
		}
	}
	return out
}

// loadCORS rebuilds the origin index from the store.
func (s *Server) loadCORS(ctx context.Context) error {
	clients, err := s.store.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("authserver: load clients for CORS: %w", err)
	}
	idx := newCORSIndex(clients)
	s.cors.Store(&idx)
	return nil
}

// corsClients returns the clients that allow the request's origin, and the
// origin as sent; nil when the request has no Origin or no client allows it.
func (s *Server) corsClients(r *http.Request) ([]string, string) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil, ""
	}
	norm, err := identity.ParseOrigin(origin)
	if err != nil {
		return nil, ""
	}
	idx := s.cors.Load()
	if idx == nil {
		return nil, ""
	}
	return (*idx)[norm], origin
}

// withCORS answers the CORS protocol for an endpoint served with methods:
// preflights (OPTIONS with Access-Control-Request-Method) from an allowed
// origin get 204 with the allowed methods and headers; other requests from
// an allowed origin get Access-Control-Allow-Origin. Every answer varies by
// Origin.
func (s *Server) withCORS(methods string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		clients, origin := s.corsClients(r)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
			if len(clients) > 0 {
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", methods)
				h.Set("Access-Control-Allow-Headers", corsAllowedHeaders)
				h.Set("Access-Control-Max-Age", corsMaxAge)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method == http.MethodOptions {
			h.Set("Allow", methods+", OPTIONS")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if len(clients) > 0 {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExposedHeaders)
		}
		next(w, r)
	}
}

// corsForClient narrows the CORS answer to the origins of client: called by
// the endpoints that know which client the request is for, before they
// write. A browser on an origin of another client then cannot read it.
func (s *Server) corsForClient(w http.ResponseWriter, r *http.Request, client string) {
	if w.Header().Get("Access-Control-Allow-Origin") == "" {
		return
	}
	clients, _ := s.corsClients(r)
	for _, c := range clients {
		if c == client {
			return
		}
	}
	w.Header().Del("Access-Control-Allow-Origin")
	w.Header().Del("Access-Control-Expose-Headers")
}
