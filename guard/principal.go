package guard

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gatehousehq/gatehouse/token"
)

// Principal is the verified caller of a request: who the token names and
// what it grants. The guard builds it from the verified claims only. It and
// its slices are shared and must be treated as read-only.
type Principal struct {
	// Subject is the sub claim: the user, or the client for a client
	// credentials token.
	Subject string
	// ClientID is the OAuth client the token was issued to.
	ClientID string
	// Scopes are the scopes of scope and scp.
	Scopes []string
	Roles  []string
	Groups []string
	// Org is the organization (tenant) of the subject.
	Org   string
	Email string
	// TokenID is the jti claim: what logs and revocation name a token by.
	TokenID string
	// Claims are all verified claims, custom ones through Claims.Custom.
	Claims *token.Claims

	guard *Guard // the guard that verified the token
}

func newPrincipal(g *Guard, c *token.Claims) *Principal {
	return &Principal{
		Subject:  c.Subject,
		ClientID: c.ClientID,
		Scopes:   c.Scopes(),
		Roles:    c.Roles,
		Groups:   c.Groups,
		Org:      c.Org,
		Email:    c.Email,
		TokenID:  c.ID,
		Claims:   c,
		guard:    g,
	}
}

// HasRole reports whether the caller has role r.
func (p *Principal) HasRole(r string) bool { return slices.Contains(p.Roles, r) }

// HasScope reports whether the token grants scope s (scope or scp).
func (p *Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// InGroup reports whether the caller is in group g.
func (p *Principal) InGroup(g string) bool { return slices.Contains(p.Groups, g) }

// principals maps the claims of tokens seen before to their principal. A
// verifier with its cache returns the same *token.Claims for a token it has
// verified before, so a repeated token costs one lock-free lookup here
// instead of building the principal again. Keys are held, so an address is
// never reused while it is in the map; the map is emptied when it exceeds
// its bound. Entries are pure functions of the claims: revocation and
// expiry are still the verifier's, checked on every request.
type principals struct {
	m sync.Map // *token.Claims → *Principal
	n atomic.Int64
}

const maxPrincipals = 4096

func (ps *principals) get(g *Guard, c *token.Claims) *Principal {
	if v, ok := ps.m.Load(c); ok {
		return v.(*Principal)
	}
	p := newPrincipal(g, c)
	if ps.n.Add(1) > maxPrincipals {
		ps.m.Clear()
		ps.n.Store(0)
	}
	ps.m.Store(c, p)
	return p
}

type principalKey struct{}

func newContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller that the guard verified for the request
// of ctx, and whether there is one. Handlers behind [Guard.Middleware],
// [Guard.Require], a [Mux] route or a gRPC interceptor always find one,
// except on [Public] routes. The raw token is in the same context for
// package relay: token.FromContext.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// Org returns the organization of the verified caller of ctx, or "" when
// there is none. A service that owns organization-scoped data filters every
// query by it, and answers a record of another organization exactly like a
// missing one (see Example_organizationScopedData). "" never matches: a
// caller without an organization sees no organization's data.
func Org(ctx context.Context) string {
	if p, ok := PrincipalFrom(ctx); ok {
		return p.Org
	}
	return ""
}
