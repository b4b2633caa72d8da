package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/token"
)

// exchangeGrant is OAuth 2.0 Token Exchange (RFC 8693 §2): a service trades
// the access token it received (subject_token) for one meant for the next
// service, with the audience and scopes narrowed to what that call needs
// and act naming the service (nested for chains, §4.1). The subject token
// must be an access token of this issuer whose audience holds the calling
// client's id, or — with [LegacySessions] configured — an opaque session
// token of the legacy system.
func (s *Server) exchangeGrant(ctx context.Context, r *http.Request, client *identity.Client) (*tokenResponse, *oauthError) {
	if client.Public {
		return nil, badRequest(errUnauthorizedClient, "public clients cannot exchange tokens")
	}
	subjectToken, subjectType := r.PostForm.Get("subject_token"), r.PostForm.Get("subject_token_type")
	if subjectToken == "" || subjectType == "" {
		return nil, badRequest(errInvalidRequest, "subject_token and subject_token_type are required")
	}
	if rt := r.PostForm.Get("requested_token_type"); rt != "" && rt != tokenTypeAccess && rt != tokenTypeJWT {
		return nil, badRequest(errInvalidRequest, "requested_token_type must be an access token")
	}
	if r.PostForm.Has("actor_token") {
		return nil, badRequest(errInvalidRequest, "actor_token is not supported; the calling client is the actor")
	}
	var (
		subject *token.Claims
		e       *oauthError
	)
	switch {
	case subjectType == s.legacyType() && !looksLikeJWT(subjectToken):
		subject, e = s.legacySubject(ctx, subjectToken)
	case subjectType == tokenTypeAccess || subjectType == tokenTypeJWT:
		subject, e = s.ownSubject(ctx, subjectToken, client)
	default:
		return nil, badRequest(errInvalidRequest, "unsupported subject_token_type")
	}
	if e != nil {
		return nil, e
	}
	aud, e := audiences(r, client)
	if e != nil {
		return nil, e
	}
	// Scopes: a subset of what the subject token holds and the client may ask.
	held := subject.Scopes()
	var granted []string
	if req := strings.Fields(r.PostForm.Get("scope")); len(req) > 0 {
		for _, sc := range req {
			if !slices.Contains(held, sc) || !slices.Contains(client.Scopes, sc) {
				return nil, badRequest(errInvalidScope, fmt.Sprintf("scope '%s' is not held by the subject token or not allowed for this client", sc))
			}
		}
		granted = req
	} else {
		for _, sc := range held {
			if slices.Contains(client.Scopes, sc) {
				granted = append(granted, sc)
			}
		}
	}
	now := s.now()
	ttl := s.accessTTL(client)
	c := token.Claims{
		Subject: subject.Subject, Audience: aud, Scope: strings.Join(granted, " "),
		Email: subject.Email, Name: subject.Name, Org: subject.Org, Roles: subject.Roles, Groups: subject.Groups,
		Actor: &token.Actor{Subject: client.ID, ClientID: client.ID, Actor: subject.Actor},
		// The user's login session: ending it revokes the exchanged token too.
		SessionID: subject.SessionID,
	}
	if subject.ExpiresAt != 0 && subject.ExpiresAt.Time().Before(now.Add(ttl)) {
		// Never outlive the token it was exchanged for.
		c.ExpiresAt = subject.ExpiresAt
		ttl = subject.ExpiresAt.Time().Sub(now)
	}
	raw, out, e := s.issueAccess(ctx, client, c, ttl)
	if e != nil {
		return nil, e
	}
	s.audit(ctx, "token_exchanged", "client_id", client.ID, "sub", c.Subject, "subject_jti", subject.ID, "aud", strings.Join(aud, " "))
	return &tokenResponse{AccessToken: raw, IssuedTokenType: tokenTypeAccess, TokenType: accessTokenType(out),
		ExpiresIn: int64(ttl / time.Second), Scope: c.Scope}, nil
}

func looksLikeJWT(s string) bool { return strings.Count(s, ".") == 2 }

// ownSubject verifies a subject token issued by this server.
func (s *Server) ownSubject(ctx context.Context, raw string, client *identity.Client) (*token.Claims, *oauthError) {
	c, err := s.verifier.Verify(ctx, raw)
	if errors.Is(err, token.ErrUnavailable) {
		return nil, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "the subject token could not be checked")
	}
	if err != nil {
		var te *token.Error
		if errors.As(err, &te) {
			return nil, badRequest(errInvalidGrant, "subject_token: "+te.Kind.Error()+": "+te.Reason)
		}
		return nil, badRequest(errInvalidGrant, "subject_token is invalid")
	}
	if !c.Audience.Contains(client.ID) {
		return nil, badRequest(errInvalidGrant, "subject_token was not issued for this client: its aud must hold the client id")
	}
	return c, nil
}

// LegacySessions bridges an existing system's opaque session tokens into
// gatehouse (the "proxy service" of migrations): token exchange with
// subject_token_type TokenType sends the session token to the legacy
// system's RFC 7662 introspection endpoint and, when it is active, issues a
// JWT for the user it names.
type LegacySessions struct {
	// IntrospectionURL is the legacy system's RFC 7662 endpoint.
	IntrospectionURL string
	// ClientID and ClientSecret authenticate gatehouse to it (Basic).
	ClientID     string
	ClientSecret string
	// TokenType is the subject_token_type that selects the bridge (default
	// urn:ietf:params:oauth:token-type:access_token; opaque tokens only).
	TokenType string
	// HTTPClient makes the call (default: a client with a 5s timeout).
	HTTPClient *http.Client
	// MapUser finds the gatehouse user for an introspection answer
	// (default: the user whose username is the answer's "username", else
	// its "sub").
	MapUser func(ctx context.Context, users identity.Users, answer map[string]any) (*identity.User, error)
}

func (l *LegacySessions) check() error {
	if u, err := url.Parse(l.IntrospectionURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("authserver: legacy introspection URL %q is not an http(s) URL", l.IntrospectionURL)
	}
	if l.ClientID == "" {
		return errors.New("authserver: legacy sessions need the client id gatehouse uses at the legacy introspection endpoint")
	}
	return nil
}

func (s *Server) legacyType() string {
	if s.cfg.Legacy == nil {
		return ""
	}
	if s.cfg.Legacy.TokenType != "" {
		return s.cfg.Legacy.TokenType
	}
	return tokenTypeAccess
}

func (s *Server) legacySubject(ctx context.Context, session string) (*token.Claims, *oauthError) {
	l := s.cfg.Legacy
	hc := l.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.IntrospectionURL, strings.NewReader(url.Values{"token": {session}}.Encode()))
	if err != nil {
		return nil, internal("legacy introspection: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(l.ClientID), url.QueryEscape(l.ClientSecret))
	resp, err := hc.Do(req)
	if err != nil {
		s.log.ErrorContext(ctx, "legacy introspection failed", "error", err)
		return nil, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "the legacy session could not be checked")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		s.log.ErrorContext(ctx, "legacy introspection answered an error", "status", resp.StatusCode)
		return nil, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "the legacy session could not be checked")
	}
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "the legacy system answered garbage")
	}
	if active, _ := answer["active"].(bool); !active {
		return nil, badRequest(errInvalidGrant, "the legacy session is not active")
	}
	if exp, ok := answer["exp"].(float64); ok && time.Unix(int64(exp), 0).Before(s.now()) {
		return nil, badRequest(errInvalidGrant, "the legacy session has expired")
	}
	mapUser := l.MapUser
	if mapUser == nil {
		mapUser = defaultMapUser
	}
	u, err := mapUser(ctx, s.store, answer)
	if err != nil || u == nil || u.Disabled {
		return nil, badRequest(errInvalidGrant, "the legacy session's user is not a gatehouse user")
	}
	c := &token.Claims{Scope: stringField(answer, "scope")}
	userClaims(u, c)
	if exp, ok := answer["exp"].(float64); ok {
		c.ExpiresAt = token.NumericDate(int64(exp))
	}
	s.audit(ctx, "legacy_session_exchanged", "sub", u.ID)
	return c, nil
}

func stringField(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func defaultMapUser(ctx context.Context, users identity.Users, answer map[string]any) (*identity.User, error) {
	for _, k := range []string{"username", "sub"} {
		if name := stringField(answer, k); name != "" {
			u, err := users.UserByUsername(ctx, name)
			if err == nil {
				return u, nil
			}
			if !errors.Is(err, identity.ErrNotFound) {
				return nil, err
			}
		}
	}
	return nil, identity.ErrNotFound
}
