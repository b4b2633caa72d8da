package authserver

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// Token types of RFC 8693 §3.
const (
	tokenTypeAccess  = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT     = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeRefresh = "urn:ietf:params:oauth:token-type:refresh_token"
)

// tokenResponse is the RFC 6749 §5.1 answer (plus RFC 8693 §2.2.1 and
// OpenID Connect's id_token).
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	Scope           string `json:"scope,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	IDToken         string `json:"id_token,omitempty"`
}

// parseForm reads an application/x-www-form-urlencoded body and refuses
// repeated parameters (RFC 6749 §3.2), except those that may repeat.
func parseForm(r *http.Request) *oauthError {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return badRequest(errInvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return oerr(http.StatusRequestEntityTooLarge, errInvalidRequest, "request body too large")
		}
		return badRequest(errInvalidRequest, "malformed form body")
	}
	for name, values := range r.PostForm {
		if len(values) > 1 && name != "audience" && name != "resource" {
			return badRequest(errInvalidRequest, "parameter "+name+" given more than once")
		}
	}
	return nil
}

func (s *Server) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	writeOAuthError := func(w http.ResponseWriter, r *http.Request, e *oauthError) {
		s.stats.refused(e.Code)
		noteOutcome(r.Context(), e.Code) // metrics.go
		writeOAuthError(w, r, e)
	}
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
	if e := s.requireCertificate(ctx, client); e != nil { // mtls.go: RFC 8705 §3
		writeOAuthError(w, r, e)
		return
	}
	ctx, e = s.checkTokenDPoP(ctx, w, r, client) // dpop_check.go: RFC 9449 §5
	if e != nil {
		writeOAuthError(w, r, e)
		return
	}
	grant := r.PostForm.Get("grant_type")
	if grant == "" {
		writeOAuthError(w, r, badRequest(errInvalidRequest, "grant_type is required"))
		return
	}
	if !slices.Contains([]string{identity.GrantAuthorizationCode, identity.GrantClientCredentials, identity.GrantRefreshToken,
		identity.GrantPassword, identity.GrantTokenExchange}, grant) {
		writeOAuthError(w, r, badRequest(errUnsupportedGrantType, "unsupported grant_type"))
		return
	}
	if !client.AllowsGrant(grant) {
		s.audit(ctx, "token_refused", "client_id", client.ID, "grant", grant, "reason", "grant not allowed")
		writeOAuthError(w, r, badRequest(errUnauthorizedClient, "this client may not use grant_type "+grant))
		return
	}
	var (
		resp *tokenResponse
		err  *oauthError
	)
	ctx, span := s.tel.startGrant(ctx, grant, client.ID) // tracing.go
	switch grant {
	case identity.GrantClientCredentials:
		resp, err = s.clientCredentials(ctx, r, client)
	case identity.GrantPassword:
		resp, err = s.passwordGrant(ctx, r, client)
	case identity.GrantAuthorizationCode:
		resp, err = s.codeGrant(ctx, r, client)
	case identity.GrantRefreshToken:
		resp, err = s.refreshGrant(ctx, r, client)
	case identity.GrantTokenExchange:
		resp, err = s.exchangeGrant(ctx, r, client)
	}
	s.tel.endGrant(span, err)
	if err != nil {
		if err.status >= 500 {
			s.log.ErrorContext(ctx, "token endpoint failed", "client_id", client.ID, "grant", grant, "error", err.Description)
			err.Description = wireDescription(err)
		} else {
			s.audit(ctx, "token_refused", "client_id", client.ID, "grant", grant, "error", err.Code, "reason", err.Description)
		}
		writeOAuthError(w, r, err)
		return
	}
	s.stats.issued(grant)
	writeJSON(w, http.StatusOK, resp)
}

// internal is a failure of the server: 500 server_error, or, when one of
// args is an error that wraps identity.ErrUnavailable (the store is down or
// dropped the connection), 503 temporarily_unavailable, which tells the
// client to retry (see storeUnavailable in errors.go).
func internal(format string, args ...any) *oauthError {
	for _, a := range args {
		if err, ok := a.(error); ok && storeUnavailable(err) {
			return oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, fmt.Sprintf(format, args...))
		}
	}
	return oerr(http.StatusInternalServerError, errServerError, fmt.Sprintf(format, args...))
}

// scopes resolves the requested scope against what the client may ask:
// every requested scope must be allowed; none requested means all the
// client's scopes (offline_access only when asked).
func scopes(requested string, allowed []string) ([]string, *oauthError) {
	req := strings.Fields(requested)
	if len(req) == 0 {
		var out []string
		for _, s := range allowed {
			if s != "offline_access" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	var out []string
	for _, s := range req {
		if !slices.Contains(allowed, s) {
			return nil, badRequest(errInvalidScope, fmt.Sprintf("scope '%s' is not allowed for this client", s))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// audiences resolves the audience and resource parameters (RFC 8693 §2.1,
// RFC 8707) against the client's allowed audiences; none requested means the
// client's default (its first audience, else its own id).
func audiences(r *http.Request, c *identity.Client) ([]string, *oauthError) {
	req := append(slices.Clone(r.PostForm["audience"]), r.PostForm["resource"]...)
	if len(req) == 0 {
		if len(c.Audiences) > 0 {
			return []string{c.Audiences[0]}, nil
		}
		return []string{c.ID}, nil
	}
	var out []string
	for _, a := range req {
		if !slices.Contains(c.Audiences, a) {
			return nil, badRequest(errInvalidTarget, fmt.Sprintf("audience '%s' is not allowed for this client", a))
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *Server) accessTTL(c *identity.Client) time.Duration {
	if c.AccessTokenTTL > 0 {
		return min(c.AccessTokenTTL, maxClientTTL)
	}
	return s.cfg.AccessTokenTTL
}

func (s *Server) refreshTTL(c *identity.Client) time.Duration {
	if c.RefreshTokenTTL > 0 {
		return c.RefreshTokenTTL
	}
	return s.cfg.RefreshTokenTTL
}

// userClaims fills the claims a user's tokens carry.
func userClaims(u *identity.User, c *token.Claims) {
	c.Subject = u.ID
	c.Email, c.Name, c.Org = u.Email, u.Name, u.Org
	c.Roles, c.Groups = u.Roles, u.Groups
}

// issueAccess signs an access token and returns it with its jti.
func (s *Server) issueAccess(ctx context.Context, client *identity.Client, c token.Claims, ttl time.Duration) (string, *token.Claims, *oauthError) {
	c.ClientID = client.ID
	iss, err := s.issuerFor(ttl)
	if err != nil {
		return "", nil, internal("issuer: %v", err)
	}
	if c.ID == "" {
		c.ID = identity.NewID()
	}
	if e := bindToCertificate(ctx, client, &c); e != nil { // mtls.go: cnf.x5t#S256 (RFC 8705 §3.1)
		return "", nil, e
	}
	bindToDPoPKey(ctx, &c) // dpop_check.go: cnf.jkt (RFC 9449 §6.1)
	raw, err := iss.AccessToken(c)
	if err != nil {
		return "", nil, internal("sign access token: %v", err)
	}
	s.audit(ctx, "token_issued", "jti", c.ID, "client_id", client.ID, "sub", c.Subject, "aud", strings.Join(c.Audience, " "), "scope", c.Scope)
	return raw, &c, nil
}

func (s *Server) clientCredentials(ctx context.Context, r *http.Request, client *identity.Client) (*tokenResponse, *oauthError) {
	if client.Public {
		return nil, badRequest(errUnauthorizedClient, "public clients cannot use client_credentials")
	}
	sc, e := scopes(r.PostForm.Get("scope"), client.Scopes)
	if e != nil {
		return nil, e
	}
	aud, e := audiences(r, client)
	if e != nil {
		return nil, e
	}
	ttl := s.accessTTL(client)
	raw, claims, e := s.issueAccess(ctx, client, token.Claims{Subject: client.ID, Audience: aud, Scope: strings.Join(sc, " ")}, ttl)
	if e != nil {
		return nil, e
	}
	return &tokenResponse{AccessToken: raw, TokenType: accessTokenType(claims), ExpiresIn: int64(ttl / time.Second), Scope: strings.Join(sc, " ")}, nil
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) passwordGrant(ctx context.Context, r *http.Request, client *identity.Client) (*tokenResponse, *oauthError) {
	u, e := s.checkLogin(ctx, r, r.PostForm.Get("username"), r.PostForm.Get("password"))
	if e != nil {
		return nil, e
	}
	sc, e := scopes(r.PostForm.Get("scope"), client.Scopes)
	if e != nil {
		return nil, e
	}
	aud, e := audiences(r, client)
	if e != nil {
		return nil, e
	}
	return s.issueForUser(ctx, client, u, grantContext{scope: sc, audience: aud, authTime: s.now()})
}

// grantContext is what a user grant decided: scope, audience, and for ID
// tokens the authentication time and nonce.
type grantContext struct {
	scope    []string
	audience []string
	authTime time.Time
	nonce    string
	familyID string // non-empty when rotating a refresh token
}

// issueForUser issues an access token, a refresh token (when the client may
// refresh) and an ID token (when openid was granted).
func (s *Server) issueForUser(ctx context.Context, client *identity.Client, u *identity.User, g grantContext) (*tokenResponse, *oauthError) {
	resp, _, e := s.issueForUserRecord(ctx, client, u, g)
	return resp, e
}

// issued is what a user grant issued, for the record of a code
// redemption: the access token's jti and the family (its sid).
type issued struct {
	jti      string
	familyID string
}

func (s *Server) issueForUserRecord(ctx context.Context, client *identity.Client, u *identity.User, g grantContext) (*tokenResponse, issued, *oauthError) {
	ttl := s.accessTTL(client)
	// The login session (sid) is the refresh token family: a new login
	// starts one, a refresh stays in its own. Logout ends it (logout.go).
	family := g.familyID
	if family == "" {
		family = identity.NewID()
	}
	c := token.Claims{Audience: g.audience, Scope: strings.Join(g.scope, " "), SessionID: family}
	userClaims(u, &c)
	raw, claims, e := s.issueAccess(ctx, client, c, ttl)
	if e != nil {
		return nil, issued{}, e
	}
	// The family is recorded also when no refresh token is issued: it is
	// the sid of the access token, which a second redemption of the code
	// revokes by it.
	rec := issued{jti: claims.ID, familyID: family}
	resp := &tokenResponse{AccessToken: raw, TokenType: accessTokenType(claims), ExpiresIn: int64(ttl / time.Second), Scope: c.Scope}
	if client.AllowsGrant(identity.GrantRefreshToken) && g.familyID == "" {
		refresh := identity.NewSecret()
		now := s.now()
		if err := s.store.SaveRefreshToken(ctx, &identity.RefreshToken{
			Hash: identity.HashToken(refresh), FamilyID: family, ClientID: client.ID, Subject: u.ID,
			Scope: c.Scope, Audience: g.audience, AuthTime: g.authTime, CreatedAt: now, ExpiresAt: now.Add(s.refreshTTL(client)),
			DPoPJKT: refreshJKT(ctx, client), // dpop_check.go: RFC 9449 §5
		}); err != nil {
			return nil, rec, internal("store refresh token: %v", err)
		}
		resp.RefreshToken = refresh
		s.audit(ctx, "refresh_issued", "family", family, "client_id", client.ID, "sub", u.ID, "jti", claims.ID)
	}
	if slices.Contains(g.scope, "openid") {
		id, err := s.idToken(client, u, g, family, raw)
		if err != nil {
			return nil, rec, internal("sign ID token: %v", err)
		}
		resp.IDToken = id
	}
	return resp, rec, nil
}

// idToken signs an OpenID Connect ID token (Core §2) with at_hash (§3.1.3.6).
func (s *Server) idToken(client *identity.Client, u *identity.User, g grantContext, sid, accessToken string) (string, error) {
	c := token.Claims{Subject: u.ID, Audience: token.Audience{client.ID}, Nonce: g.nonce, AuthTime: token.At(g.authTime),
		AtHash: atHash(s.SigningKey().Algorithm(), accessToken), SessionID: sid}
	if slices.Contains(g.scope, "email") {
		c.Email = u.Email
	}
	if slices.Contains(g.scope, "profile") {
		c.Name = u.Name
		c.Extra = map[string]any{"preferred_username": u.Username}
	}
	c.Extra = mergeExtra(c.Extra, "azp", client.ID)
	iss, err := s.issuerFor(s.cfg.IDTokenTTL)
	if err != nil {
		return "", err
	}
	return iss.IDToken(c)
}

func mergeExtra(m map[string]any, k string, v any) map[string]any {
	if m == nil {
		m = map[string]any{}
	}
	m[k] = v
	return m
}

// atHash is the left half of the hash of the access token, base64url
// (OpenID Connect Core §3.1.3.6); SHA-512 for EdDSA, SHA-256 otherwise.
func atHash(alg keys.Algorithm, accessToken string) string {
	var h hash.Hash = sha256.New()
	if alg == keys.EdDSA {
		h = sha512.New()
	}
	h.Write([]byte(accessToken))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

func (s *Server) refreshGrant(ctx context.Context, r *http.Request, client *identity.Client) (*tokenResponse, *oauthError) {
	presented := r.PostForm.Get("refresh_token")
	if presented == "" {
		return nil, badRequest(errInvalidRequest, "refresh_token is required")
	}
	hash := identity.HashToken(presented)
	old, err := s.store.RefreshTokenByHash(ctx, hash)
	if errors.Is(err, identity.ErrNotFound) {
		return nil, badRequest(errInvalidGrant, "unknown refresh token")
	}
	if err != nil {
		return nil, internal("refresh lookup: %v", err)
	}
	if old.ClientID != client.ID {
		return nil, badRequest(errInvalidGrant, "refresh token was issued to another client")
	}
	if e := checkBoundGrant(ctx, old.DPoPJKT, "refresh token"); e != nil { // dpop_check.go: RFC 9449 §5
		return nil, e
	}
	if s.sessionEnded(ctx, old.FamilyID) {
		return nil, badRequest(errInvalidGrant, "the login session of this refresh token has ended")
	}
	if resp := s.retryAnswer(ctx, presented, old); resp != nil { // refresh_grace.go
		return resp, nil
	}
	requested := strings.Fields(r.PostForm.Get("scope"))
	granted := strings.Fields(old.Scope)
	for _, sc := range requested {
		if !slices.Contains(granted, sc) {
			return nil, badRequest(errInvalidScope, fmt.Sprintf("scope '%s' was not granted to this refresh token", sc))
		}
	}
	if len(requested) > 0 {
		granted = requested
	}
	u, err := s.store.UserByID(ctx, old.Subject)
	switch {
	case errors.Is(err, identity.ErrNotFound) || (err == nil && u.Disabled):
		s.store.RevokeFamily(ctx, old.FamilyID, s.now())
		return nil, badRequest(errInvalidGrant, "the user of this refresh token is no longer active")
	case err != nil: // could not check: the family stays
		return nil, internal("user lookup: %v", err)
	}
	// The answer first, so that the rotation stores it (sealed, for a
	// retry within the grace) in the same transaction; if the rotation is
	// refused, the tokens signed here are never sent.
	resp, e := s.issueForUser(ctx, client, u, grantContext{scope: granted, audience: old.Audience, authTime: old.AuthTime, familyID: old.FamilyID})
	if e != nil {
		return nil, e
	}
	now := s.now()
	next := identity.NewSecret()
	resp.RefreshToken = next
	rt := &identity.RefreshToken{
		Hash: identity.HashToken(next), FamilyID: old.FamilyID, ClientID: client.ID, Subject: old.Subject,
		Scope: old.Scope, Audience: old.Audience, AuthTime: old.AuthTime, CreatedAt: now, ExpiresAt: now.Add(s.refreshTTL(client)),
		Parent: hash, DPoPJKT: refreshJKT(ctx, client),
	}
	if s.refreshGrace() > 0 {
		if rt.Sealed, err = sealAnswer(presented, hash, resp, now); err != nil {
			return nil, internal("seal the answer for the rotation grace: %v", err)
		}
	}
	_, err = s.store.RotateRefreshToken(ctx, hash, rt, now)
	switch {
	case errors.Is(err, identity.ErrRefreshReused):
		// The store revoked the family; the access tokens issued under it
		// (the newest one may be in a thief's hands) go with it.
		s.audit(ctx, "refresh_reuse_detected", "family", old.FamilyID, "client_id", client.ID, "sub", old.Subject)
		if rerr := s.revokeGrant(ctx, old.FamilyID); rerr != nil {
			s.log.ErrorContext(ctx, "revoking the access tokens of a reused refresh token's family failed", "family", old.FamilyID, "error", rerr)
		}
		return nil, badRequest(errInvalidGrant, "refresh token was already used; its family and its access tokens are revoked")
	case errors.Is(err, identity.ErrFamilyRevoked):
		return nil, badRequest(errInvalidGrant, "refresh token has been revoked")
	case errors.Is(err, identity.ErrExpired):
		return nil, badRequest(errInvalidGrant, "refresh token has expired")
	case errors.Is(err, identity.ErrNotFound):
		return nil, badRequest(errInvalidGrant, "unknown refresh token")
	case err != nil:
		return nil, internal("rotate refresh token: %v", err)
	}
	s.audit(ctx, "refresh_rotated", "family", old.FamilyID, "client_id", client.ID, "sub", old.Subject)
	return resp, nil
}
