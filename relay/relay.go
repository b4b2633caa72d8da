package relay

import (
	"context"
	"time"
)

// Relay passes the caller's own token on (users → profiles, the TokenRelay of a
// gateway): the token that the inbound guard verified and put in the
// request context with token.NewContext. The downstream service must accept
// that token's audience, so Relay fits services that share one audience; use
// [Exchange] or [Mint] for a token meant for the downstream service alone.
//
// No token in the context is [ErrNoToken], and a token that expires within
// the skew is [ErrTokenExpired]: never a request without a token, never one
// with a token about to be refused.
//
// A sender-constrained caller token (cnf: bound to the caller's DPoP key
// or client certificate, RFC 9449, RFC 8705) is refused with
// [ErrBoundToken]: relay does not hold the caller's key, so it cannot
// sign the proof or present the certificate, and the downstream service
// would refuse the token. Use [Exchange] (with ExchangeConfig.DPoP or
// MTLS) for a token bound to this service's own key.
//
// The zero value is ready to use; a Relay is safe for concurrent use.
type Relay struct {
	// Skew: a token that expires within it is refused. 0 means
	// [DefaultSkew]; a negative value refuses only expired tokens.
	Skew time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// UnsafePassBoundTokens passes a sender-constrained caller token on
	// as a plain Bearer token, without proof: only for a downstream
	// service that does not enforce the binding (guard and the gateway
	// refuse it). Anyone on the way who sees the token can then use it
	// there as well.
	UnsafePassBoundTokens bool
}

var (
	_ Source  = Relay{}
	_ Renewer = Relay{}
)

// Token returns the caller's token from ctx.
func (r Relay) Token(ctx context.Context) (string, error) {
	raw, c, err := callerToken(ctx, skewOr(r.Skew), clockOr(r.Now)())
	if err != nil {
		return "", relayErr("pass on the caller's token: %w", err)
	}
	if c != nil && c.Bound() && !r.UnsafePassBoundTokens {
		return "", relayErr("pass on the caller's token %s: %w", jti(c), ErrBoundToken)
	}
	return raw, nil
}

// Renew is asked when the downstream service answered 401 to the caller's
// token. A relayed token is not Relay's to replace: when it has expired
// since the call began (during slow retries, say) the answer is
// [ErrTokenExpired], a clear error in place of the 401; otherwise the
// same token comes back and the 401 stands.
func (r Relay) Renew(ctx context.Context, _ string) (string, error) { return r.Token(ctx) }
