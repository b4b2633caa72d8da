package authserver

import (
	"net/http"

	"github.com/gatehousehq/gatehouse/identity"
)

// introspect is RFC 7662: client authentication required, confidential
// clients only; an inactive, unknown, expired or revoked token answers
// {"active": false} only, and so does a token the client may not learn
// about (introspection_access.go), so that the answer does not tell it
// that the token exists.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
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
	if client.Public {
		writeOAuthError(w, r, oerr(http.StatusUnauthorized, errInvalidClient, "introspection needs a confidential client"))
		return
	}
	raw := r.PostForm.Get("token")
	if raw == "" {
		writeOAuthError(w, r, badRequest(errInvalidRequest, "token is required"))
		return
	}
	inactive := map[string]any{"active": false}
	// token_type_hint is only a hint (RFC 7662 §2.1): whatever it says, a
	// JWT is looked at as an access token, anything else as a refresh token.
	if looksLikeJWT(raw) {
		c, err := s.verifier.Verify(ctx, raw)
		if err != nil {
			writeJSON(w, http.StatusOK, inactive)
			return
		}
		if !mayIntrospectAccess(client, c) {
			s.audit(ctx, "introspection_refused", "client_id", client.ID, "jti", c.ID, "token_client_id", c.ClientID)
			writeJSON(w, http.StatusOK, inactive)
			return
		}
		out := map[string]any{
			"active": true, "token_type": "Bearer", "scope": c.Scope, "client_id": c.ClientID, "sub": c.Subject,
			"aud": c.Audience, "iss": c.Issuer, "exp": c.ExpiresAt, "iat": c.IssuedAt, "nbf": c.NotBefore, "jti": c.ID,
			"email": c.Email, "org": c.Org, "roles": c.Roles, "groups": c.Groups, "act": c.Actor,
		}
		introspectionBinding(out, c) // dpop_check.go: cnf (RFC 9449 §6.2, RFC 8705 §3.2)
		writeJSON(w, http.StatusOK, out)
		return
	}
	rt, err := s.store.RefreshTokenByHash(ctx, identity.HashToken(raw))
	if err != nil || !rt.UsedAt.IsZero() || s.now().After(rt.ExpiresAt) {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	if !mayIntrospectRefresh(client, rt) {
		s.audit(ctx, "introspection_refused", "client_id", client.ID, "family", rt.FamilyID, "token_client_id", rt.ClientID)
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	if revoked, err := s.store.FamilyRevoked(ctx, rt.FamilyID); err != nil || revoked {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"active": true, "token_type": "refresh_token", "scope": rt.Scope, "client_id": rt.ClientID, "sub": rt.Subject,
		"exp": rt.ExpiresAt.Unix(), "iat": rt.CreatedAt.Unix(), "iss": s.issuer,
	})
}
