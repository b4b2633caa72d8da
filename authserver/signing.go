package authserver

import (
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
)

// Key rotation with any number of auth server instances refuses no valid
// token: a new key is published (in every instance's JWKS, from each
// one's next reload) a while before any instance signs with it, and a
// superseded key stays published until the last token it signed has
// expired.
//
//	rotation            SignFrom = rotation + KeyPublishAhead
//	    |---- published only ----|---- signs (the old key: verifies only) ---->
//
// KeyPublishAhead (default DefaultKeyPublishAhead with the default reload)
// must exceed the instances' reload interval plus the verifiers' JWKS cache
// age, so that every instance publishes the key and every verifier has
// fetched it before a token carries its kid. Every instance switches at
// SignFrom itself (SigningKey), not at its next reload.

// DefaultKeyPublishAhead is how long a rotated key is published before it
// signs, with the default KeyReload: the reload interval, the JWKS's
// Cache-Control max-age (jwksMaxAge: what verifiers cache it for), and a
// margin.
const DefaultKeyPublishAhead = DefaultKeyReload + jwksMaxAge + 30*time.Second

// jwksMaxAge is the max-age the JWKS is served with.
const jwksMaxAge = 5 * time.Minute

// publishAhead is Config.KeyPublishAhead, or the default for the
// configured reload interval.
func (s *Server) publishAhead() time.Duration {
	if s.cfg.KeyPublishAhead > 0 {
		return s.cfg.KeyPublishAhead
	}
	return s.cfg.KeyReload + jwksMaxAge + 30*time.Second
}

// keySchedule is what the stored keys say at a moment: the key that signs,
// the next one that will (nil if none is waiting) and from when, and every
// key to publish.
type keySchedule struct {
	signing     *keys.Key
	signingFrom time.Time
	next        *keys.Key
	nextFrom    time.Time
	published   []*keys.Key
}

// scheduleKeys reads stored (newest first, as ListSigningKeys returns
// them) at now: a key is published from its creation until its RetiredAt
// plus retention; it signs from its SignFrom until its RetiredAt.
func scheduleKeys(stored []identity.SigningKey, now time.Time, retention time.Duration) (keySchedule, error) {
	var ks keySchedule
	for _, sk := range stored {
		if !sk.RetiredAt.IsZero() && now.After(sk.RetiredAt.Add(retention)) {
			continue // its tokens have expired
		}
		k, err := keys.ParseJWK(sk.JWK)
		if err != nil {
			return keySchedule{}, fmt.Errorf("authserver: stored signing key %s: %w", sk.ID, err)
		}
		ks.published = append(ks.published, k)
		from := sk.SignFrom
		if from.IsZero() {
			from = sk.CreatedAt
		}
		switch {
		case now.Before(from):
			// Published ahead; the newest such key is the next to sign.
			if ks.next == nil || from.After(ks.nextFrom) {
				ks.next, ks.nextFrom = k, from
			}
		case sk.RetiredAt.IsZero() || now.Before(sk.RetiredAt):
			if ks.signing == nil || from.After(ks.signingFrom) {
				ks.signing, ks.signingFrom = k, from
			}
		}
	}
	if ks.signing == nil && ks.next != nil {
		// Only a key that is not due yet (the clock went back, or every
		// older key was deleted): sign with it rather than not at all.
		ks.signing, ks.signingFrom, ks.next = ks.next, ks.nextFrom, nil
	}
	if ks.signing == nil {
		return keySchedule{}, fmt.Errorf("authserver: the store has no signing key that may sign: run `gatehouse keys rotate`")
	}
	return ks, nil
}
