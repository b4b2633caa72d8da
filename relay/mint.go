package relay

import (
	"context"
	"time"

	"github.com/gatehousehq/gatehouse/token"
)

// DefaultMintTTL is the lifetime of minted service tokens.
const DefaultMintTTL = 30 * time.Second

// MintConfig configures a [Mint] source. Service, Key and Audience are
// required; the zero value of every other field is a documented default.
type MintConfig struct {
	// Service is this service's name: the iss of the tokens it mints and
	// the sub of their act claim. The downstream verifier expects it as
	// issuer.
	Service string
	// Key signs: the service's own key (ES256, EdDSA, ...; publish its
	// public part to the downstream service) or an HS256 shared secret of
	// at least 32 bytes, keys.New(keys.HS256, secret), such as the one
	// that an accounts and an admin service share. A *keys.Set rotates.
	Key token.SigningKeys
	// Audience is the downstream service: the aud of minted tokens.
	Audience string
	// TTL is the lifetime of minted tokens (default DefaultMintTTL, at most
	// token.MaxServiceTokenTTL, 60s). A minted token never outlives the
	// caller's.
	TTL time.Duration
	// Skew: a caller token that expires within it is not used
	// ([ErrTokenExpired]). 0 means DefaultSkew.
	Skew time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Mint signs a short-lived token of its own for each call, as an accounts
// service does for the admin service it calls: sub is the user of the
// caller's token, aud the downstream service, iss this service, act this
// service (RFC 8693 §4.1, nesting the caller's act), with the user's
// email, name, roles, groups and org copied. Scopes
// are not copied: the token is this service's statement about the user,
// not the user's grant. No round trip to the auth server.
//
// A Mint is safe for concurrent use.
type Mint struct {
	issuer   *token.Issuer
	service  string
	audience string
	ttl      time.Duration
	skew     time.Duration
	now      func() time.Time
}

var (
	_ Source  = (*Mint)(nil)
	_ Renewer = (*Mint)(nil)
)

// NewMint checks cfg and returns the minting source.
func NewMint(cfg MintConfig) (*Mint, error) {
	switch {
	case cfg.Service == "":
		return nil, relayErr("mint: Service (the iss of minted tokens) is required")
	case cfg.Audience == "":
		return nil, relayErr("mint: Audience (the downstream service) is required")
	case cfg.TTL < 0 || cfg.TTL > token.MaxServiceTokenTTL:
		return nil, relayErr("mint: TTL %s is outside (0, %s]: minted tokens are short-lived", cfg.TTL, token.MaxServiceTokenTTL)
	case cfg.TTL != 0 && cfg.TTL < time.Second:
		return nil, relayErr("mint: TTL %s is under the one-second resolution of exp", cfg.TTL)
	case cfg.Skew < 0:
		return nil, relayErr("mint: Skew must not be negative")
	}
	now := clockOr(cfg.Now)
	if cfg.Key == nil {
		return nil, relayErr("mint: Key is required")
	}
	iss, err := token.NewIssuer(cfg.Service, cfg.Key, token.WithClock(now))
	if err != nil {
		return nil, relayErr("mint: %w", err)
	}
	return &Mint{
		issuer: iss, service: cfg.Service, audience: cfg.Audience,
		ttl:  orDefault(cfg.TTL, DefaultMintTTL),
		skew: skewOr(cfg.Skew),
		now:  now,
	}, nil
}

// Audience returns the downstream audience.
func (m *Mint) Audience() string { return m.audience }

// Token mints a token for the user of the caller's token in ctx.
func (m *Mint) Token(ctx context.Context) (string, error) {
	now := m.now()
	_, c, err := callerToken(ctx, m.skew, now)
	if err != nil {
		return "", relayErr("mint for %s: %w", m.audience, err)
	}
	if c == nil || c.Subject == "" {
		return "", relayErr("mint for %s: the context has a token but not its verified claims (sub): %w", m.audience, ErrNoToken)
	}
	ttl := m.ttl
	if c.ExpiresAt != 0 {
		ttl = min(ttl, c.ExpiresAt.Time().Sub(now))
	}
	ttl = ttl.Truncate(time.Second)
	if ttl < time.Second {
		return "", relayErr("mint for %s: token %s expires at %s: %w", m.audience, jti(c), c.ExpiresAt.Time().UTC().Format(time.RFC3339), ErrTokenExpired)
	}
	raw, err := m.issuer.ServiceToken(c.Subject, m.audience, ttl, token.Claims{
		Email: c.Email, Name: c.Name, Roles: c.Roles, Groups: c.Groups, Org: c.Org,
		Actor: &token.Actor{Subject: m.service, Actor: c.Actor},
		// The caller's login session: ending it revokes this token too.
		SessionID: c.SessionID,
	})
	if err != nil {
		return "", relayErr("mint for %s: %w", m.audience, err)
	}
	return raw, nil
}

// Renew mints a fresh token when the downstream service answered 401 to
// refused, as it does to a minted token that expired during slow retries;
// a caller token that has expired meanwhile is [ErrTokenExpired].
func (m *Mint) Renew(ctx context.Context, _ string) (string, error) { return m.Token(ctx) }
