package guard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse/token"
)

// Guard checks the bearer token of every request it guards and the rules
// attached to it. It is configured once by [New], immutable afterwards and
// safe for concurrent use; one guard serves the whole service.
type Guard struct {
	v           *token.Verifier
	realm       string
	cookie      string
	writeError  ErrorWriter
	log         *slog.Logger
	defaultDeny bool
	methods     map[string]Rule
	principals  *principals
	tel         telemetry   // tracing.go
	dpop        *dpopCheck  // WithDPoP (dpop_scheme.go)
	clientCert  *certHeader // WithClientCertificateHeader (clientcert.go)
}

// New returns a guard that verifies tokens with v. Verification, its cache
// and revocation are the verifier's; the guard finds the token, builds the
// [Principal], applies rules and answers refusals.
func New(v *token.Verifier, opts ...Option) (*Guard, error) {
	if v == nil {
		return nil, errors.New("guard: a token verifier is required")
	}
	g := &Guard{v: v, realm: v.Audience(), writeError: writeProblem, log: slog.Default(), principals: new(principals)}
	if g.realm == "" || !quotable(g.realm) {
		g.realm = "gatehouse"
	}
	for _, o := range opts {
		if err := o.apply(g); err != nil {
			return nil, err
		}
	}
	if err := g.tel.init(); err != nil {
		return nil, err
	}
	return g, nil
}

// Middleware returns next behind the guard: a request reaches next only with
// a valid bearer token, and then finds the caller with [PrincipalFrom] and
// the raw token with token.FromContext in its context.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return g.Require(Authenticated(), next)
}

// Require returns next behind the guard and rule: a valid token, then the
// rule. With [Public] it returns next unchanged.
func (g *Guard) Require(rule Rule, next http.Handler) http.Handler {
	if rule == nil || next == nil {
		panic("guard: Require needs a rule and a handler")
	}
	if isPublic(rule) {
		return next
	}
	return &guarded{g: g, rule: rule, next: next}
}

var _ http.Handler = (*guarded)(nil)

// guarded is a handler behind the guard.
type guarded struct {
	g    *Guard
	rule Rule // nil: refuse every authenticated request (default deny)
	next http.Handler
}

func (h *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := h.g
	p, r, ref := g.authenticate(r)
	if ref == nil {
		if h.rule == nil {
			ref = &Refusal{Reason: ReasonForbidden, Detail: "no rule allows this route"}
		} else {
			ref = g.evaluate(h.rule, r, p) // tracing.go
		}
	}
	if ref != nil {
		g.refuse(w, r, ref, p)
		return
	}
	h.next.ServeHTTP(w, r)
}

// authenticate verifies the token of r and returns the principal and r with
// a context that carries it. A principal that this guard already put in the
// context (Middleware around Require) is taken as it is.
func (g *Guard) authenticate(r *http.Request) (*Principal, *http.Request, *Refusal) {
	ctx := r.Context()
	if p, ok := PrincipalFrom(ctx); ok && p.guard == g {
		return p, r, nil
	}
	raw, s, ref := g.bearer(r)
	if ref != nil {
		return nil, r, ref
	}
	p, ref := g.verify(ctx, raw)
	if ref != nil {
		return nil, r, ref
	}
	// On every request, cached token or not: the binding is the
	// request's, not the token's (binding.go).
	if ref := g.checkBinding(r, raw, s, p.Claims); ref != nil {
		return p, r, ref
	}
	return p, r.WithContext(g.withPrincipal(ctx, raw, p)), nil
}

// verify checks raw with the verifier and maps its error to a refusal.
func (g *Guard) verify(ctx context.Context, raw string) (*Principal, *Refusal) {
	c, err := g.verifyToken(ctx, raw) // tracing.go
	if err != nil {
		return nil, tokenRefusal(err)
	}
	return g.principals.get(g, c), nil
}

// withPrincipal returns ctx with the principal for guard.PrincipalFrom and
// the token and claims for token.FromContext (package relay).
func (g *Guard) withPrincipal(ctx context.Context, raw string, p *Principal) context.Context {
	return newContext(token.NewContext(ctx, raw, p.Claims), p)
}

// tokenRefusal maps a verification error (token.ErrorCode): 503 when the
// token could not be checked, else 401 invalid_token. The token package's
// reasons never quote the token.
func tokenRefusal(err error) *Refusal {
	detail := "the access token is invalid"
	var te *token.Error
	if errors.As(err, &te) {
		detail = strings.TrimPrefix(te.Error(), "token: ")
	}
	if _, status := token.ErrorCode(err); status == http.StatusServiceUnavailable {
		return &Refusal{Reason: ReasonUnavailable, Detail: "the access token could not be checked; try again later", Err: err}
	}
	return &Refusal{Reason: ReasonInvalidToken, Detail: detail, Err: err}
}

// Refuse answers r with the refusal that err maps to, exactly as the guard
// answers its own: a *Refusal as it is, [ErrNotFound] as 404, anything else
// as 500 without details. A handler that filters by organization answers a
// missing record with Refuse(w, r, guard.ErrNotFound), so that it cannot be
// told apart from a record of another organization. The refusal is logged.
func (g *Guard) Refuse(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		err = &Refusal{Reason: ReasonForbidden}
	}
	p, _ := PrincipalFrom(r.Context())
	g.refuse(w, r, asRefusal(err), p)
}
