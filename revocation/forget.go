package revocation

import "github.com/gatehousehq/gatehouse/token"

// ForgetIn makes every entry that changes l drop the matching tokens from
// v's verified-token cache: a Token entry forgets its jti, a Subject entry
// every cached token of the subject. Use it where a service builds its
// guard (cmd/gatehouse does):
//
//	v, _ := token.NewVerifier(src, issuer, audience, token.WithRevoker(list))
//	defer revocation.ForgetIn(list, v)()
//
// It saves memory and a lookup, not correctness: the verifier asks the list
// for cached tokens too, so a revoked token is refused either way. Client
// entries have no cache index and are left to that check. The returned
// function unregisters the hook.
func ForgetIn(l *List, v *token.Verifier) (remove func()) {
	return l.OnRevoke(func(e Entry) {
		switch e.Kind {
		case Token:
			v.ForgetID(e.Value)
		case Subject:
			v.ForgetSubject(e.Value)
		}
	})
}
