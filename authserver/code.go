package authserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse/identity"
)

// codeGrant redeems an authorization code (RFC 6749 §4.1.3) with PKCE
// (RFC 7636 §4.6). A code is single-use: a second redemption revokes the
// refresh token family and every access token issued under it
// (revokeGrant).
func (s *Server) codeGrant(ctx context.Context, r *http.Request, client *identity.Client) (*tokenResponse, *oauthError) {
	code, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
	if code == "" {
		return nil, badRequest(errInvalidRequest, "code is required")
	}
	now := s.now()
	hash := identity.HashToken(code)
	ac, err := s.store.ConsumeCode(ctx, hash, now)
	switch {
	case errors.Is(err, identity.ErrCodeUsed):
		s.audit(ctx, "code_reuse_detected", "client_id", client.ID, "family", ac.FamilyID, "jti", ac.IssuedJTI)
		// The family (refresh tokens, and by sid every access token issued
		// under it, also after refreshes), and the first access token by
		// jti, for a redemption recorded before families were.
		if ac.FamilyID != "" {
			if err := s.revokeGrant(ctx, ac.FamilyID); err != nil {
				s.log.ErrorContext(ctx, "revoking what a reused code issued failed", "family", ac.FamilyID, "error", err)
			}
		}
		if ac.IssuedJTI != "" {
			if err := s.addRevocation(ctx, identity.Revocation{Kind: identity.RevokeToken, Value: ac.IssuedJTI, Until: now.Add(s.retention())}); err != nil {
				s.log.ErrorContext(ctx, "revoking what a reused code issued failed", "jti", ac.IssuedJTI, "error", err)
			}
		}
		return nil, badRequest(errInvalidGrant, "authorization code was already used; what it issued is revoked")
	case errors.Is(err, identity.ErrExpired):
		return nil, badRequest(errInvalidGrant, "authorization code has expired")
	case errors.Is(err, identity.ErrNotFound):
		return nil, badRequest(errInvalidGrant, "unknown authorization code")
	case err != nil:
		return nil, internal("consume code: %v", err)
	}
	if ac.ClientID != client.ID {
		return nil, badRequest(errInvalidGrant, "authorization code was issued to another client")
	}
	if e := checkBoundGrant(ctx, ac.DPoPJKT, "authorization code"); e != nil { // dpop_check.go: RFC 9449 §10
		return nil, e
	}
	// RFC 6749 §4.1.3: redirect_uri is required, and identical, when the
	// authorization request had one. When it had none (the client's only
	// registered URI was used), the token request may send none or that
	// one URI.
	given := r.PostForm.Get("redirect_uri")
	switch {
	case ac.RedirectURI != "" && given != ac.RedirectURI:
		return nil, badRequest(errInvalidGrant, "redirect_uri does not match the authorization request")
	case ac.RedirectURI == "" && given != "" && !(len(client.RedirectURIs) == 1 && client.RedirectURIs[0] == given):
		return nil, badRequest(errInvalidGrant, "redirect_uri was not in the authorization request and is not the client's registered one")
	}
	switch {
	case ac.CodeChallenge == "" && verifier != "":
		// PKCE downgrade: a verifier for a code issued without challenge.
		return nil, badRequest(errInvalidGrant, "code_verifier given but the authorization request had no code_challenge")
	case ac.CodeChallenge != "" && verifier == "":
		return nil, badRequest(errInvalidGrant, "code_verifier is required")
	case ac.CodeChallenge != "" && !pkceMatches(verifier, ac.CodeChallenge):
		return nil, badRequest(errInvalidGrant, "code_verifier does not match the code_challenge")
	}
	u, err := s.store.UserByID(ctx, ac.UserID)
	if err != nil || u.Disabled {
		return nil, badRequest(errInvalidGrant, "the user is no longer active")
	}
	resp, rec, e := s.issueForUserRecord(ctx, client, u, grantContext{
		scope: strings.Fields(ac.Scope), audience: ac.Audience, authTime: ac.AuthTime, nonce: ac.Nonce,
	})
	if e != nil {
		return nil, e
	}
	if err := s.store.SetCodeIssued(ctx, hash, rec.familyID, rec.jti); err != nil {
		s.log.ErrorContext(ctx, "record of a code redemption failed", "client_id", client.ID, "error", err)
	}
	return resp, nil
}

// pkceMatches checks an S256 code verifier (RFC 7636 §4.1: 43 to 128
// unreserved characters) against the challenge, in constant time.
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}
