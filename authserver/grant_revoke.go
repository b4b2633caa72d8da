package authserver

import (
	"context"
	"errors"

	"github.com/gatehousehq/gatehouse/identity"
)

// revokeGrant ends a grant: the refresh token family and every access
// token issued under it. A user grant's family id is the sid of every
// token issued under it: the first access token (password grant, code
// redemption), those of each refresh, and those token exchange made from
// them (exchange.go keeps the sid), so one deny-list entry for the sid
// revokes them all, however many there are, with no list of jtis to keep
// (RFC 9700 §4.14.2 for a reused refresh token, RFC 7009 §2.1 for a
// revoked one, RFC 6749 §4.1.2 for a code used twice; RP-initiated logout
// too). Tokens without a sid (client credentials) belong to no family.
//
// The deny entry comes first: it covers every token of the family, also
// one a refresh mints meanwhile (a sid entry ignores iat), and the refresh
// grant refuses a family on the list, so that the grant ends even if
// revoking the family in the store fails. It is kept until the longest
// lived of those tokens has expired (sessionMargin covers a refresh
// racing this and verifiers' clock skew). An error wrapping
// errNotPublished says that the entry is stored and applied here but
// Config.Revocations did not take it.
func (s *Server) revokeGrant(ctx context.Context, family string) error {
	now := s.now()
	err := s.addRevocation(ctx, identity.Revocation{Kind: identity.RevokeSession, Value: family, Until: now.Add(s.retention() + sessionMargin)})
	if err != nil && !errors.Is(err, errNotPublished) {
		return err
	}
	if ferr := s.store.RevokeFamily(ctx, family, now); ferr != nil && !errors.Is(ferr, identity.ErrNotFound) {
		return ferr
	}
	return err
}
