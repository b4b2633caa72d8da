package authserver

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// Pushed authorization requests (RFC 9126). A client POSTs its
// authorization request to /oauth2/par, authenticated as at the token
// endpoint; the request is validated as /oauth2/authorize would
// (parseAuthRequest), stored in the identity store (so that every auth
// server instance finds it) and named by a request_uri of 256 random bits,
// which the client then sends to /oauth2/authorize with its client_id.
// A request_uri is taken once (identity.PushedRequests), by the client
// that pushed it, within PushedRequestTTL. The login form carries a fresh
// request_uri of its own (loginRequestTTL) rather than the parameters, so
// that what the user's browser posts back cannot change the request.

const (
	// DefaultPushedRequestTTL is the default lifetime of a request_uri.
	DefaultPushedRequestTTL = 60 * time.Second
	maxPushedRequestTTL     = 10 * time.Minute
	// loginRequestTTL is how long the login form's request_uri lives: the
	// time a user has to sign in.
	loginRequestTTL = 10 * time.Minute
	// requestURIPrefix starts every request_uri (RFC 9126 §2.2).
	requestURIPrefix = "urn:ietf:params:oauth:request_uri:"
	// loginMark is the parameter that marks a stored request as the
	// login form's (loginForm): POST /login takes only those, and
	// /oauth2/authorize never, so that the form's request_uri, which
	// lives loginRequestTTL, cannot start another authorization and keep
	// a pushed request alive past its lifetime.
	loginMark = "gatehouse_login_form"
)

// credentialParams are the client authentication parameters of a pushed
// request, which are not part of the authorization request.
var credentialParams = []string{"client_secret", "client_assertion", "client_assertion_type"}

// pushAuthorizationRequest is the PAR endpoint (RFC 9126 §2).
func (s *Server) pushAuthorizationRequest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if e := parseForm(r); e != nil {
		writeOAuthError(w, r, e)
		return
	}
	client, e := s.authenticateClient(ctx, r)
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	s.corsForClient(w, r, client.ID)
	q := url.Values{}
	for k, v := range r.PostForm {
		q[k] = v
	}
	for _, k := range credentialParams {
		delete(q, k)
	}
	delete(q, loginMark) // the server's own mark, never the client's
	switch {
	case q.Has("request_uri"):
		writeOAuthError(w, r, badRequest(errInvalidRequest, "request_uri must not be pushed (RFC 9126 §2.1)"))
		return
	case q.Has("request"):
		writeOAuthError(w, r, badRequest("request_not_supported", "request objects (JAR) are not supported; push the parameters themselves"))
		return
	}
	q.Set("client_id", client.ID) // a differing client_id was refused by authenticateClient
	// A DPoP proof binds the request to its key (dpop_check.go, RFC 9449 §10.1).
	if e := s.pushedDPoP(ctx, w, r, client, q); e != nil {
		writeOAuthError(w, r, e)
		return
	}
	_, pe, oe := s.parseAuthRequest(ctx, q, true)
	switch {
	case pe != nil && pe.status >= 500:
		writeOAuthError(w, r, oerr(pe.status, errTemporarilyUnavail, "try again later"))
		return
	case pe != nil:
		writeOAuthError(w, r, badRequest(errInvalidRequest, pe.message))
		return
	case oe != nil:
		s.audit(ctx, "par_refused", "client_id", client.ID, "error", oe.Code, "reason", oe.Description)
		writeOAuthError(w, r, oe)
		return
	}
	uri, err := s.storePushed(ctx, client.ID, q, s.cfg.PushedRequestTTL)
	if err != nil {
		s.log.ErrorContext(ctx, "store pushed authorization request failed", "client_id", client.ID, "error", err)
		writeOAuthError(w, r, internal("store pushed request: %v", err))
		return
	}
	s.audit(ctx, "par_stored", "client_id", client.ID)
	writeJSON(w, http.StatusCreated, map[string]any{"request_uri": uri, "expires_in": int64(s.cfg.PushedRequestTTL / time.Second)})
}

// storePushed stores the authorization request q of client for ttl and
// returns its request_uri.
func (s *Server) storePushed(ctx context.Context, client string, q url.Values, ttl time.Duration) (string, error) {
	uri := requestURIPrefix + base64.RawURLEncoding.EncodeToString(randomBytes(32))
	err := s.store.PushRequest(ctx, &identity.PushedRequest{
		Hash: identity.HashToken(uri), ClientID: client, Params: q.Encode(), ExpiresAt: s.now().Add(ttl),
	})
	return uri, err
}

// resolvePushed returns the authorization request that q names by
// request_uri (RFC 9126 §4), taken from the store, and true; q itself and
// false when it names none (a request_uri of another form is left to
// parseAuthRequest, which refuses it at the redirect URI). client_id is required and must be the client
// that pushed it; the other parameters of q are ignored. A request_uri
// that is unknown, used, expired or another client's is an error page,
// never a redirect: the redirect URI is not known. forLogin says that q
// is the login form's (POST /login), which takes the form's own
// request_uri (loginForm) only; /oauth2/authorize takes pushed ones only.
func (s *Server) resolvePushed(ctx context.Context, q url.Values, forLogin bool) (url.Values, bool, *pageError) {
	uri, client := q.Get("request_uri"), q.Get("client_id")
	if !strings.HasPrefix(uri, requestURIPrefix) {
		return q, false, nil // none, or not a pushed request's: parseAuthRequest refuses it
	}
	if len(q["request_uri"]) > 1 || len(q["client_id"]) > 1 {
		return nil, false, &pageError{http.StatusBadRequest, "The parameters request_uri and client_id must be given once."}
	}
	if client == "" {
		return nil, false, &pageError{http.StatusBadRequest, "The request has a request_uri but no client_id. Start the login from your application."}
	}
	if len(uri) > len(requestURIPrefix)+128 {
		return nil, false, &pageError{http.StatusBadRequest, "The request_uri is not one this server issued."}
	}
	p, err := s.store.TakePushedRequest(ctx, identity.HashToken(uri), client, s.now())
	switch {
	case errors.Is(err, identity.ErrNotFound):
		s.audit(ctx, "authorize_refused", "client_id", client, "reason", "unknown, used, expired or another client's request_uri")
		return nil, false, &pageError{http.StatusBadRequest, "The request_uri is unknown, was used already or has expired. Start the login again from your application."}
	case err != nil:
		s.log.ErrorContext(ctx, "take pushed authorization request failed", "client_id", client, "error", err)
		return nil, false, &pageError{http.StatusServiceUnavailable, "The login service is unavailable. Try again later."}
	}
	stored, err := url.ParseQuery(p.Params)
	if err != nil || stored.Get("client_id") != client {
		return nil, false, &pageError{http.StatusBadRequest, "The pushed request is unusable. Start the login again from your application."}
	}
	if stored.Has(loginMark) != forLogin {
		s.audit(ctx, "authorize_refused", "client_id", client, "reason", "a request_uri used at the wrong endpoint (the login form's at authorize, or a pushed one at the login form)")
		return nil, false, &pageError{http.StatusBadRequest, "The request_uri is unknown, was used already or has expired. Start the login again from your application."}
	}
	stored.Del(loginMark)
	return stored, true, nil
}

// loginForm is what the login form carries of the authorization request
// q: q itself, or, for a pushed request, client_id and a fresh request_uri
// that names it again (loginRequestTTL).
func (s *Server) loginForm(ctx context.Context, q url.Values, pushed bool) (url.Values, *pageError) {
	if !pushed {
		return q, nil
	}
	client := q.Get("client_id")
	marked := url.Values{loginMark: {"1"}}
	for k, v := range q {
		marked[k] = v
	}
	uri, err := s.storePushed(ctx, client, marked, loginRequestTTL)
	if err != nil {
		s.log.ErrorContext(ctx, "store pushed authorization request failed", "client_id", client, "error", err)
		return nil, &pageError{http.StatusServiceUnavailable, "The login service is unavailable. Try again later."}
	}
	return url.Values{"client_id": {client}, "request_uri": {uri}}, nil
}

// requirePAR reports whether client must push its authorization requests.
func (s *Server) requirePAR(c *identity.Client) bool { return s.cfg.RequirePAR || c.RequirePAR }

// parMetadata adds the RFC 9126 §5 metadata to discovery.
func (s *Server) parMetadata(meta map[string]any) {
	meta["pushed_authorization_request_endpoint"] = s.issuer + "/oauth2/par"
	meta["require_pushed_authorization_requests"] = s.cfg.RequirePAR
}
