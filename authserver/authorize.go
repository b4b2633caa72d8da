package authserver

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehousehq/gatehouse/identity"
)

// authRequest is a validated authorization request (RFC 6749 §4.1.1,
// RFC 7636 §4.3, OpenID Connect Core §3.1.2.1).
type authRequest struct {
	client              *identity.Client
	redirectURI         string
	redirectGiven       bool // redirect_uri was in the request (RFC 6749 §4.1.3)
	state               string
	nonce               string
	scope               []string
	audience            []string
	codeChallenge       string
	codeChallengeMethod string
	prompt              string
	dpopJKT             string // the key the code is bound to (RFC 9449 §10, dpop_check.go)
}

// authParams are the query parameters carried from /oauth2/authorize
// through the login form.
var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "prompt", "audience", "resource", "response_mode", "request_uri", "dpop_jkt"}

// parseAuthRequest validates an authorization request; pushed says that q
// is a request the client pushed (par.go), which a client or server that
// requires PAR insists on. Errors about the
// client or the redirect URI come back as a page error (never redirect,
// RFC 6749 §4.1.2.1); the others as an error to send to the redirect URI.
func (s *Server) parseAuthRequest(ctx context.Context, q url.Values, pushed bool) (*authRequest, *pageError, *oauthError) {
	for _, p := range authParams {
		if len(q[p]) > 1 && p != "audience" && p != "resource" {
			return nil, &pageError{http.StatusBadRequest, "The parameter " + p + " was given more than once."}, nil
		}
	}
	id := q.Get("client_id")
	if id == "" {
		return nil, &pageError{http.StatusBadRequest, "The request has no client_id. Start the login from your application."}, nil
	}
	client, err := s.store.ClientByID(ctx, id)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, &pageError{http.StatusBadRequest, "Unknown client. Check the client_id your application is configured with."}, nil
	}
	if err != nil {
		s.log.ErrorContext(ctx, "client lookup failed", "client_id", id, "error", err)
		return nil, &pageError{http.StatusServiceUnavailable, "The login service is unavailable. Try again later."}, nil
	}
	redirect := q.Get("redirect_uri")
	switch {
	case redirect == "" && len(client.RedirectURIs) == 1:
		redirect = client.RedirectURIs[0]
	case redirect == "":
		return nil, &pageError{http.StatusBadRequest, "The request has no redirect_uri and the client has several registered."}, nil
	case !slices.Contains(client.RedirectURIs, redirect):
		s.audit(ctx, "authorize_refused", "client_id", id, "reason", "unregistered redirect_uri")
		return nil, &pageError{http.StatusBadRequest, "The redirect_uri is not registered for this client; it must match a registered URI exactly."}, nil
	}
	req := &authRequest{client: client, redirectURI: redirect, redirectGiven: q.Get("redirect_uri") != "", state: q.Get("state"), nonce: q.Get("nonce"),
		codeChallenge: q.Get("code_challenge"), codeChallengeMethod: q.Get("code_challenge_method"), prompt: q.Get("prompt")}
	if !pushed && s.requirePAR(client) {
		return req, nil, badRequest(errInvalidRequest, "this client must push its authorization requests first (RFC 9126): POST them to "+s.issuer+"/oauth2/par")
	}
	if q.Get("response_type") != "code" {
		return req, nil, badRequest(errUnsupportedResponse, "only response_type=code is supported")
	}
	// Never ignore what would change the request's meaning.
	switch {
	case q.Has("request"):
		return req, nil, badRequest("request_not_supported", "request objects are not supported; send the parameters in the query")
	case q.Has("request_uri"): // a pushed request's was resolved before (resolvePushed)
		return req, nil, badRequest("request_uri_not_supported", "request_uri names pushed authorization requests (RFC 9126) only; other request URIs are not supported")
	case q.Get("response_mode") != "" && q.Get("response_mode") != "query":
		return req, nil, badRequest(errInvalidRequest, "only response_mode=query is supported")
	}
	if !client.AllowsGrant(identity.GrantAuthorizationCode) {
		return req, nil, badRequest(errUnauthorizedClient, "this client may not use the authorization code flow")
	}
	sc, e := scopes(q.Get("scope"), client.Scopes)
	if e != nil {
		return req, nil, e
	}
	req.scope = sc
	form := &http.Request{PostForm: q}
	if req.audience, e = audiences(form, client); e != nil {
		return req, nil, e
	}
	switch {
	case req.codeChallenge == "" && client.Public:
		return req, nil, badRequest(errInvalidRequest, "PKCE is required for public clients: send code_challenge with code_challenge_method=S256")
	case req.codeChallenge == "" && req.codeChallengeMethod != "":
		return req, nil, badRequest(errInvalidRequest, "code_challenge_method without code_challenge")
	case req.codeChallenge != "" && req.codeChallengeMethod != "S256":
		return req, nil, badRequest(errInvalidRequest, "only code_challenge_method=S256 is supported")
	case req.codeChallenge != "" && !validChallenge(req.codeChallenge):
		return req, nil, badRequest(errInvalidRequest, "code_challenge must be 43 base64url characters")
	}
	if req.dpopJKT, e = authorizationJKT(q.Get("dpop_jkt")); e != nil { // dpop_check.go
		return req, nil, e
	}
	if req.prompt == "none" {
		return req, nil, badRequest(errLoginRequired, "no login session; prompt=none cannot be satisfied")
	}
	return req, nil, nil
}

// storedRedirect is the redirect URI a code records for the token
// request's check: the one the request gave, or "" when it gave none
// (the client's only registered URI was used).
func (req *authRequest) storedRedirect() string {
	if req.redirectGiven {
		return req.redirectURI
	}
	return ""
}

func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(c)
	return err == nil
}

// pageError is an error shown as an HTML page, never sent to a redirect URI.
type pageError struct {
	status  int
	message string
}

// redirectError sends an error to the client's redirect URI (RFC 6749
// §4.1.2.1) with state and iss (RFC 9207).
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, req *authRequest, e *oauthError) {
	s.audit(r.Context(), "authorize_refused", "client_id", req.client.ID, "error", e.Code, "reason", e.Description)
	q := url.Values{"error": {wireText(e.Code)}, "error_description": {wireText(e.Description)}, "iss": {s.issuer}}
	if req.state != "" {
		q.Set("state", req.state)
	}
	http.Redirect(w, r, withQuery(req.redirectURI, q), http.StatusSeeOther)
}

func withQuery(base string, q url.Values) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + q.Encode()
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q, pushed, pe := s.resolvePushed(ctx, r.URL.Query(), false) // par.go
	if pe != nil {
		s.errorPage(w, pe)
		return
	}
	req, pe, oe := s.parseAuthRequest(ctx, q, pushed)
	switch {
	case pe != nil:
		s.errorPage(w, pe)
	case oe != nil:
		s.redirectError(w, r, req, oe)
	default:
		form, pe := s.loginForm(ctx, q, pushed)
		if pe != nil {
			s.errorPage(w, pe)
			return
		}
		s.renderLogin(w, r, req, form, "", http.StatusOK)
	}
}

const csrfCookie = "gatehouse_csrf"

func (s *Server) errorPage(w http.ResponseWriter, e *pageError) {
	pageHeaders(w, "")
	w.WriteHeader(e.status)
	writeErrorPage(w, e.message)
}

// renderLogin shows the login form of the validated request req, carrying
// the authorization request q in hidden fields, with a CSRF token bound to
// a cookie (double submit).
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, req *authRequest, q url.Values, message string, status int) {
	csrf := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		csrf = c.Value
	} else {
		csrf = base64.RawURLEncoding.EncodeToString(randomBytes(32))
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/login", HttpOnly: true,
			Secure: strings.HasPrefix(s.issuer, "https://"), SameSite: http.SameSiteLaxMode, MaxAge: 3600})
	}
	var hidden []hiddenField
	for _, p := range authParams {
		for _, v := range q[p] {
			hidden = append(hidden, hiddenField{p, v})
		}
	}
	pageHeaders(w, req.redirectURI)
	w.WriteHeader(status)
	writeLoginPage(w, q.Get("client_id"), message, csrf, hidden)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("client_id") == "" {
		s.errorPage(w, &pageError{http.StatusBadRequest, "Sign-in starts from your application: it sends you to /oauth2/authorize."})
		return
	}
	s.authorize(w, r)
}

// login checks the form posted by the login page and, on success, redirects
// to the client with an authorization code.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, &pageError{http.StatusBadRequest, "The form could not be read."})
		return
	}
	cookie, err := r.Cookie(csrfCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		s.audit(ctx, "login_refused", "reason", "csrf token mismatch", "ip", clientIP(r))
		s.errorPage(w, &pageError{http.StatusForbidden, "The form expired or was not sent by this site. Go back to your application and start again."})
		return
	}
	q := url.Values{}
	for _, p := range authParams {
		if v, ok := r.PostForm[p]; ok {
			q[p] = v
		}
	}
	q, pushed, pe := s.resolvePushed(ctx, q, true) // par.go: the login form's own request_uri
	if pe != nil {
		s.errorPage(w, pe)
		return
	}
	req, pe, oe := s.parseAuthRequest(ctx, q, pushed)
	switch {
	case pe != nil:
		s.errorPage(w, pe)
		return
	case oe != nil:
		s.redirectError(w, r, req, oe)
		return
	}
	u, e := s.checkLogin(ctx, r, r.PostForm.Get("username"), r.PostForm.Get("password"))
	if e != nil {
		// A wrong password shows the form again with its message: 200, as
		// a 401 would need an HTTP authentication challenge (RFC 9110
		// §15.5.2) that a form login has none of.
		status := http.StatusOK
		if e.status == http.StatusTooManyRequests {
			status = http.StatusTooManyRequests
		} else if e.status >= 500 {
			status = http.StatusServiceUnavailable
			e.Description = "the login service is unavailable; try again later"
		}
		if status != http.StatusOK {
			w.Header().Set("Retry-After", retryAfterOf(e))
		}
		form, pe := s.loginForm(ctx, q, pushed) // a pushed request: named again
		if pe != nil {
			s.errorPage(w, pe)
			return
		}
		s.renderLogin(w, r, req, form, strings.ToUpper(e.Description[:1])+e.Description[1:]+".", status)
		return
	}
	code := identity.NewSecret()
	now := s.now()
	if err := s.store.SaveCode(ctx, &identity.AuthCode{
		Hash: identity.HashToken(code), ClientID: req.client.ID, UserID: u.ID, RedirectURI: req.storedRedirect(),
		Scope: strings.Join(req.scope, " "), Audience: req.audience, Nonce: req.nonce,
		CodeChallenge: req.codeChallenge, CodeChallengeMethod: req.codeChallengeMethod, DPoPJKT: req.dpopJKT,
		AuthTime: now, ExpiresAt: now.Add(s.cfg.CodeTTL),
	}); err != nil {
		s.log.ErrorContext(ctx, "store authorization code failed", "error", err)
		s.errorPage(w, &pageError{http.StatusServiceUnavailable, "The login service is unavailable. Try again later."})
		return
	}
	s.audit(ctx, "login_succeeded", "sub", u.ID, "client_id", req.client.ID)
	resp := url.Values{"code": {code}, "iss": {s.issuer}}
	if req.state != "" {
		resp.Set("state", req.state)
	}
	http.Redirect(w, r, withQuery(req.redirectURI, resp), http.StatusSeeOther)
}
