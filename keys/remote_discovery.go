package keys

// A [Remote] found from its issuer URL: the OpenID Connect discovery
// document or RFC 8414 metadata names the JWKS URL.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// NewRemoteFromIssuer reads the issuer's OpenID Connect discovery document
// (falling back to RFC 8414 metadata), checks that its "issuer" equals issuer
// exactly, and returns a source for its jwks_uri with the keys fetched.
//
// An answer that shows the issuer to be wrong (a document naming another
// issuer, no document, no jwks_uri, a JWKS without a usable key) is an
// error. When the issuer cannot be reached (a network error, a timeout, a
// 5xx or 429 answer), it returns the source together with an error
// wrapping [ErrUnavailable]: a caller that must not start without keys
// treats every error as fatal; one that may start (a gateway) keeps the
// source, calls [Remote.Prefetch] and reports [Remote.Ready]. Such a source
// discovers its JWKS URL at its first successful fetch; lookups until then
// fail with ErrUnavailable.
func NewRemoteFromIssuer(ctx context.Context, issuer string, opts ...RemoteOption) (*Remote, error) {
	if err := checkURL(issuer); err != nil {
		return nil, fmt.Errorf("keys: issuer: %w", err)
	}
	r, err := newRemote(opts)
	if err != nil {
		return nil, err
	}
	r.issuer = issuer
	if err := r.Refresh(ctx); err != nil {
		if errors.Is(err, ErrUnavailable) {
			return r, err
		}
		return nil, err
	}
	return r, nil
}

// discover reads the issuer's metadata and returns its jwks_uri. Its error
// wraps ErrUnavailable when the issuer could not be reached.
func (r *Remote) discover(ctx context.Context) (string, error) {
	base := strings.TrimSuffix(r.issuer, "/")
	u, _ := url.Parse(base)
	candidates := []string{
		base + "/.well-known/openid-configuration",
		u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + u.Path,
	}
	var lastErr, transient error
	for _, c := range candidates {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		body, _, err := r.get(ctx, c)
		if err != nil {
			lastErr = err
			if errors.Is(err, ErrUnavailable) {
				transient = err
			}
			continue
		}
		if err := strictUnmarshal(body, &meta); err != nil {
			return "", fmt.Errorf("keys: discovery document %s is not valid JSON: %w", c, err)
		}
		if meta.Issuer != r.issuer {
			return "", fmt.Errorf("keys: discovery document %s names issuer %q, want exactly %q", c, meta.Issuer, r.issuer)
		}
		if meta.JWKSURI == "" {
			return "", fmt.Errorf("keys: discovery document %s has no jwks_uri", c)
		}
		if err := checkURL(meta.JWKSURI); err != nil {
			return "", fmt.Errorf("keys: discovery document %s: JWKS URL: %w", c, err)
		}
		return meta.JWKSURI, nil
	}
	if transient != nil {
		lastErr = transient
	}
	return "", fmt.Errorf("keys: discovery for issuer %s: %w", r.issuer, lastErr)
}
