package authserver

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gatehousehq/gatehouse/identity"
)

// authenticateClient identifies the client of a token, introspection or
// revocation request: private_key_jwt, client_secret_basic (RFC 6749 §2.3.1,
// with the form-urlencoding of the credentials, or as sent where that
// decoding fails or does not match; see formDecoded), client_secret_post, or, for public
// clients, client_id alone. Using both methods at once is refused. The
// secret is checked by checkClientSecret (client_secret_check.go); a bad
// client id and a bad secret get the same answer. A request with
// client_assertion uses private_key_jwt (RFC 7523) instead, and one with
// client_id alone of a client registered for tls_client_auth or
// self_signed_tls_client_auth its TLS client certificate (RFC 8705 §2,
// mtls_auth.go).
func (s *Server) authenticateClient(ctx context.Context, r *http.Request) (*identity.Client, *oauthError) {
	id, secret, basic := r.BasicAuth()
	if r.PostForm.Has("client_assertion") || r.PostForm.Has("client_assertion_type") {
		if basic || r.PostForm.Has("client_secret") {
			return nil, badRequest(errInvalidRequest, "use one client authentication method, not a client assertion and a secret together")
		}
		return s.authenticateAssertion(ctx, r)
	}
	var rawSecret string // the Basic secret as sent, when it differs from its form-decoding
	if basic {
		id, _ = formDecoded(id)
		secret, rawSecret = formDecoded(secret)
		if r.PostForm.Has("client_secret") {
			return nil, badRequest(errInvalidRequest, "use one client authentication method, not Basic and client_secret together")
		}
		if fid := r.PostForm.Get("client_id"); fid != "" && fid != id {
			return nil, badRequest(errInvalidRequest, "client_id differs from the Basic credentials")
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id == "" {
		return nil, oerr(http.StatusUnauthorized, errInvalidClient, "client authentication required")
	}
	candidates := []string{secret}
	if rawSecret != "" {
		candidates = append(candidates, rawSecret)
	}
	c, err := s.clientForSecret(ctx, id, candidates) // clientcache.go
	switch {
	case errors.Is(err, identity.ErrNotFound):
		c = nil
	case err != nil:
		s.log.ErrorContext(ctx, "client lookup failed", "client_id", id, "error", err)
		return nil, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "try again later")
	case c.Public:
		if secret != "" {
			return nil, oerr(http.StatusUnauthorized, errInvalidClient, "public clients have no secret")
		}
		return c, nil
	}
	if secret == "" && !basic && c != nil && usesTLSClientAuth(c) {
		// RFC 8705 §2: client_id in the form, and the certificate of the
		// mTLS connection (mtls_auth.go).
		return s.authenticateCertificate(ctx, r, c)
	}
	if secret == "" { // nothing to check, for a known client as for an unknown one
		return nil, oerr(http.StatusUnauthorized, errInvalidClient, "unknown client or bad credentials")
	}
	return s.checkClientSecret(ctx, r, id, c, candidates)
}

// formDecoded returns a Basic credential decoded as RFC 6749 §2.3.1
// requires (application/x-www-form-urlencoded), and raw when the decoding
// changed it: many clients (Python requests, curl -u) send the credential
// as it is. Where the decoding fails, the raw value is the credential. A
// secret is then tried decoded first and raw second.
func formDecoded(v string) (decoded, raw string) {
	d, err := url.QueryUnescape(v)
	switch {
	case err != nil:
		return v, ""
	case d != v:
		return d, v
	default:
		return v, ""
	}
}

// userCredentials reads the user whose password is checked, with its hash:
// through identity.CredentialReader when the store leaves hashes out of its
// ordinary reads (cachedstore.Store).
func (s *Server) userCredentials(ctx context.Context, username string) (*identity.User, error) {
	if cr, ok := s.store.(identity.CredentialReader); ok {
		return cr.UserCredentials(ctx, username)
	}
	return s.store.UserByUsername(ctx, username)
}

// clientWithSecret reads the client whose secret is checked, with its hash.
func (s *Server) clientWithSecret(ctx context.Context, id string) (*identity.Client, error) {
	if cr, ok := s.store.(identity.CredentialReader); ok {
		return cr.ClientCredentials(ctx, id)
	}
	return s.store.ClientByID(ctx, id)
}
