package authserver

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// discovery serves OpenID Connect Discovery 1.0 §3 and RFC 8414 metadata.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	algs := []string{string(s.SigningKey().Algorithm())}
	meta := map[string]any{
		"issuer":                                                   s.issuer,
		"authorization_endpoint":                                   s.issuer + "/oauth2/authorize",
		"token_endpoint":                                           s.issuer + "/oauth2/token",
		"jwks_uri":                                                 s.issuer + "/.well-known/jwks.json",
		"userinfo_endpoint":                                        s.issuer + "/userinfo",
		"introspection_endpoint":                                   s.issuer + "/oauth2/introspect",
		"revocation_endpoint":                                      s.issuer + "/oauth2/revoke",
		"end_session_endpoint":                                     s.issuer + "/oauth2/logout",
		"response_types_supported":                                 []string{"code"},
		"response_modes_supported":                                 []string{"query"},
		"grant_types_supported":                                    []string{identity.GrantAuthorizationCode, identity.GrantClientCredentials, identity.GrantRefreshToken, identity.GrantPassword, identity.GrantTokenExchange},
		"subject_types_supported":                                  []string{"public"},
		"id_token_signing_alg_values_supported":                    algs,
		"token_endpoint_auth_methods_supported":                    []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
		"token_endpoint_auth_signing_alg_values_supported":         keys.HeaderNames(assertionAlgorithms...),
		"introspection_endpoint_auth_methods_supported":            []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"introspection_endpoint_auth_signing_alg_values_supported": keys.HeaderNames(assertionAlgorithms...),
		"revocation_endpoint_auth_signing_alg_values_supported":    keys.HeaderNames(assertionAlgorithms...),
		"revocation_endpoint_auth_methods_supported":               []string{"client_secret_basic", "client_secret_post", "private_key_jwt", "none"},
		"code_challenge_methods_supported":                         []string{"S256"},
		"scopes_supported":                                         []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                                         []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "email", "name", "preferred_username", "org", "roles", "groups"},
		"authorization_response_iss_parameter_supported":           true,
		// Request objects are not supported (OpenID Connect Core §6); say
		// so, as the Discovery default of request_uri_parameter_supported
		// is true, and refuse them at /oauth2/authorize.
		"request_parameter_supported":     false,
		"request_uri_parameter_supported": false,
	}
	s.mtlsMetadata(meta) // mtls.go
	s.parMetadata(meta)  // par.go
	s.dpopMetadata(meta) // dpop_check.go
	writeJSON(w, http.StatusOK, meta)
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	body := s.jwks
	s.mu.RUnlock()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(jwksMaxAge/time.Second)))
	w.Write(body)
}

// revoke is RFC 7009: a refresh token revokes its family and the access
// tokens of its grant (§2.1); an access token is put on the deny list by
// jti until it expires. Tokens of other clients
// and unknown tokens are ignored with 200, as §2.2 requires.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
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
	raw := r.PostForm.Get("token")
	if raw == "" {
		writeOAuthError(w, r, badRequest(errInvalidRequest, "token is required"))
		return
	}
	if looksLikeJWT(raw) {
		c, err := s.verifier.Verify(ctx, raw)
		if err == nil && c.ClientID == client.ID {
			until := c.ExpiresAt.Time().Add(leeway)
			if err := s.addRevocation(ctx, identity.Revocation{Kind: identity.RevokeToken, Value: c.ID, Until: until}); err != nil {
				s.log.ErrorContext(ctx, "revocation failed", "jti", c.ID, "error", err)
				writeOAuthError(w, r, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "try again later"))
				return
			}
			s.audit(ctx, "token_revoked", "jti", c.ID, "client_id", client.ID, "sub", c.Subject)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	rt, err := s.store.RefreshTokenByHash(ctx, identity.HashToken(raw))
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		// Could not check: never tell the client a token is revoked that
		// may not be.
		s.log.ErrorContext(ctx, "revocation lookup failed", "error", err)
		writeOAuthError(w, r, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "try again later"))
		return
	}
	if err == nil && rt.ClientID == client.ID {
		// The family, and the access tokens of the same grant (RFC 7009
		// §2.1): a deny entry for their sid (grant_revoke.go). Stored but
		// not published is 503 too, as for an access token: a retry is
		// harmless.
		if err := s.revokeGrant(ctx, rt.FamilyID); err != nil {
			s.log.ErrorContext(ctx, "revocation failed", "family", rt.FamilyID, "error", err)
			writeOAuthError(w, r, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "try again later"))
			return
		}
		s.audit(ctx, "refresh_revoked", "family", rt.FamilyID, "client_id", client.ID, "sub", rt.Subject)
	}
	w.WriteHeader(http.StatusOK)
}

// RevokeSubject revokes every access token of a user issued until now and
// every refresh token family of the user (logout everywhere).
func (s *Server) RevokeSubject(ctx context.Context, subject string) error {
	now := s.now()
	// The refresh tokens first: a refresh between the two steps would
	// otherwise mint an access token issued after the deny entry's cut-off.
	if err := s.store.RevokeSubjectFamilies(ctx, subject, now); err != nil {
		return err
	}
	err := s.addRevocation(ctx, identity.Revocation{Kind: identity.RevokeSubject, Value: subject, IssuedBefore: now, Until: now.Add(s.retention())})
	if err != nil && !errors.Is(err, errNotPublished) {
		return err
	}
	s.audit(ctx, "subject_revoked", "sub", subject)
	return err // nil, or stored but not published
}

// userinfo is OpenID Connect Core §5.3, for access tokens with scope openid.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	raw, dpopScheme, ok := userinfoToken(r.Header.Get("Authorization")) // dpop_check.go: Bearer or DPoP
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse"`)
		w.Header().Add("WWW-Authenticate", dpop.Challenge(s.dpop.Algorithms(), "", ""))
		// No error code when no credentials were sent (RFC 6750 §3.1).
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error_description": "a bearer access token is required"})
		return
	}
	c, err := s.verifier.Verify(ctx, raw)
	if err == nil {
		s.corsForClient(w, r, c.ClientID)
	}
	if err != nil {
		code, status := token.ErrorCode(err)
		var te *token.Error
		desc := "the access token is invalid"
		if errors.As(err, &te) {
			desc = wireText(te.Kind.Error()) // in a quoted-string of the header too (RFC 6750 §3)
		}
		// The challenge of the scheme the token came with (dpop_check.go).
		(&resourceError{status: status, code: code, desc: desc, dpopScheme: dpopScheme}).write(w, s.dpop.Algorithms())
		return
	}
	if e := s.checkResourceDPoP(ctx, r, dpopScheme, raw, c); e != nil { // dpop_check.go: RFC 9449 §7
		e.write(w, s.dpop.Algorithms())
		return
	}
	if !c.HasScope("openid") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="insufficient_scope", scope="openid"`)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope", "error_description": "userinfo needs scope openid"})
		return
	}
	u, err := s.store.UserByID(ctx, c.Subject)
	if err != nil || u.Disabled {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="invalid_token", error_description="the user is not active"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "the user is not active"})
		return
	}
	out := map[string]any{"sub": u.ID}
	if c.HasScope("profile") {
		out["name"], out["preferred_username"] = u.Name, u.Username
		out["org"], out["roles"], out["groups"] = u.Org, u.Roles, u.Groups
	}
	if c.HasScope("email") {
		out["email"] = u.Email
	}
	writeJSON(w, http.StatusOK, out)
}

// bearerToken reads "Bearer <token>" (RFC 6750 §2.1); the scheme is
// case-insensitive (RFC 9110 §11.1), so "bearer" and "BEARER" are read too.
func bearerToken(authorization string) (string, bool) {
	scheme, raw, _ := strings.Cut(authorization, " ")
	raw = strings.TrimLeft(raw, " ")
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return "", false
	}
	return raw, true
}

// audit logs an audit event; never pass a token, secret or password.
func (s *Server) audit(ctx context.Context, event string, attrs ...any) {
	s.log.InfoContext(ctx, "audit", append([]any{"event", event}, attrs...)...)
}

var _ keys.Source = (*Server)(nil)
var _ token.Revoker = (*Server)(nil)
var _ token.SigningKeys = (*Server)(nil)
