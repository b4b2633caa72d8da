package relay

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/token"
)

// Defaults shared by the modes.
const (
	// DefaultSkew is how long before its expiry a caller's token is no
	// longer passed on: a token that would expire on the way is refused
	// with [ErrTokenExpired] before anything is sent.
	DefaultSkew = 5 * time.Second
	// DefaultRenewBefore is how long before their expiry cached tokens
	// (exchanged, client credentials) are replaced.
	DefaultRenewBefore = 30 * time.Second
	// DefaultTokenTimeout bounds one call to the token endpoint.
	DefaultTokenTimeout = 10 * time.Second
	// MaxTokenResponse bounds the body of a token endpoint answer.
	MaxTokenResponse = 1 << 20
)

// Source gives the bearer token for one outbound call. ctx is the call's
// context: it carries the caller's token (token.FromContext) for the modes
// that need it, and its cancellation. The four modes are [Relay],
// [Exchange], [ClientCredentials] and [Mint]; [OAuth2Source] adapts any
// golang.org/x/oauth2 TokenSource.
//
// Implementations are safe for concurrent use.
type Source interface {
	Token(ctx context.Context) (string, error)
}

// Renewer is implemented by sources that cache tokens. When the downstream
// service answers 401 to refused, the transport asks for a fresh token and
// retries the call once. Renew drops refused from the cache, unless another
// goroutine has already replaced it, and returns the current token.
type Renewer interface {
	Renew(ctx context.Context, refused string) (string, error)
}

type scopesKey struct{}

// ScopedContext returns a context whose outbound calls ask for a token
// narrowed to scopes: the scope parameter of the token exchange (RFC 8693
// §2.1), in place of [ExchangeConfig.Scopes]. Only the [Exchange] mode
// narrows; the others ignore it.
func ScopedContext(ctx context.Context, scopes ...string) context.Context {
	return context.WithValue(ctx, scopesKey{}, normalizeScopes(scopes))
}

// scopesFrom returns the scopes set by ScopedContext, and whether there were.
func scopesFrom(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(scopesKey{}).(string)
	return s, ok
}

// normalizeScopes sorts and deduplicates scopes into a scope string
// (RFC 6749 §3.3), so that equal sets share a cache entry.
func normalizeScopes(scopes []string) string {
	var out []string
	for _, s := range scopes {
		out = append(out, strings.Fields(s)...)
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), " ")
}

// callerToken returns the caller's token and claims from ctx, refusing a
// missing one and one that expires within skew. Its errors have no prefix:
// the mode wraps them. Claims may be nil when the
// context was filled without them; then the expiry is the downstream's to
// check.
func callerToken(ctx context.Context, skew time.Duration, now time.Time) (string, *token.Claims, error) {
	raw, c, ok := token.FromContext(ctx)
	if !ok || raw == "" {
		return "", nil, ErrNoToken
	}
	if c != nil && c.ExpiresAt != 0 && !now.Add(skew).Before(c.ExpiresAt.Time()) {
		return "", nil, fmt.Errorf("token %s expires at %s: %w", jti(c), c.ExpiresAt.Time().UTC().Format(time.RFC3339), ErrTokenExpired)
	}
	return raw, c, nil
}

// jti names a token in errors and logs.
func jti(c *token.Claims) string {
	if c == nil || c.ID == "" {
		return "(no jti)"
	}
	return "jti=" + c.ID
}

func skewOr(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultSkew
	case d < 0:
		return 0
	}
	return d
}

func clockOr(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// OAuth2Source adapts a golang.org/x/oauth2 TokenSource (a Google or Azure
// credential, an oauth2.Config's refreshing source, ...) to a [Source].
// Its caching and renewal are the TokenSource's own; wrap it with
// oauth2.ReuseTokenSource if it has none.
type OAuth2Source struct {
	ts oauth2.TokenSource
}

var _ Source = (*OAuth2Source)(nil)

// NewOAuth2Source returns a Source of the access tokens of ts.
func NewOAuth2Source(ts oauth2.TokenSource) *OAuth2Source { return &OAuth2Source{ts: ts} }

// Token returns the access token of the TokenSource. x/oauth2 token sources
// take no context; cancellation of ctx is not seen by them.
func (s *OAuth2Source) Token(context.Context) (string, error) {
	t, err := s.ts.Token()
	if err != nil {
		return "", relayErr("oauth2 token source: %w", err)
	}
	if t.AccessToken == "" {
		return "", relayErr("oauth2 token source returned no access token")
	}
	return t.AccessToken, nil
}
