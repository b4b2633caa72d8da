package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/guard/guardcel"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// issuerVerifier is one trusted issuer: a verifier per accepted audience,
// all on one key source.
type issuerVerifier struct {
	name      string
	issuer    string
	audiences []string
	verifiers []*token.Verifier // by audience
	remote    *keys.Remote      // the key source, when fetched (readiness.go)
}

// buildVerifiers makes the key sources and verifiers of every issuer.
// Discovery happens here, so a wrong issuer URL fails at start or reload.
func (g *Gateway) buildVerifiers(ctx context.Context, cfg *Config) (map[string]*issuerVerifier, error) {
	out := map[string]*issuerVerifier{}
	for i, is := range cfg.Issuers {
		key := fmt.Sprintf("issuers[%d]", i)
		line := cfg.Line(key)
		var src keys.Source
		var remote *keys.Remote
		ropts := []keys.RemoteOption{keys.WithHTTPClient(g.client), keys.WithLogger(g.log)}
		switch {
		case is.JWKSFile != "":
			ks, err := keys.Load(is.JWKSFile)
			if err != nil {
				return nil, cfg.errAt(line, key+".jwks_file", "%v", err)
			}
			pub := make([]*keys.Key, len(ks))
			for j, k := range ks {
				pub[j] = k.PublicKey()
			}
			s, err := keys.NewStatic(pub...)
			if err != nil {
				return nil, cfg.errAt(line, key+".jwks_file", "%v", err)
			}
			src = s
		case is.JWKSURL != "":
			r, err := g.remote(ctx, is, ropts)
			if err != nil {
				return nil, cfg.errAt(line, key+".jwks_url", "%v", err)
			}
			src, remote = r, r
		default:
			r, err := g.remote(ctx, is, ropts)
			if err != nil {
				return nil, cfg.errAt(line, key+".issuer", "discovery failed: %v", err)
			}
			src, remote = r, r
		}
		var vopts []token.VerifierOption
		if len(is.Algorithms) > 0 {
			algs := make([]keys.Algorithm, 0, len(is.Algorithms))
			for _, a := range is.Algorithms {
				alg, err := keys.ParseAlgorithm(a)
				if err != nil {
					return nil, cfg.errAt(line, key+".algorithms", "%v", err)
				}
				algs = append(algs, alg)
			}
			vopts = append(vopts, token.WithAlgorithms(algs...))
		}
		if is.Leeway > 0 {
			vopts = append(vopts, token.WithLeeway(is.Leeway))
		}
		if g.opts.Revoker != nil {
			vopts = append(vopts, token.WithRevoker(g.opts.Revoker))
		}
		iv := &issuerVerifier{name: is.Name, issuer: is.Issuer, audiences: is.Audiences, remote: remote}
		for _, aud := range is.Audiences {
			v, err := token.NewVerifier(src, is.Issuer, aud, vopts...)
			if err != nil {
				return nil, cfg.errAt(line, key, "%v", err)
			}
			iv.verifiers = append(iv.verifiers, v)
		}
		out[is.Name] = iv
	}
	return out, nil
}

// routeAuth is the token check of a route: one guarded handler per
// (issuer, audience) the route trusts.
type routeAuth struct {
	candidates []candidate
}

type candidate struct {
	issuer   string
	audience string
	handler  http.Handler
}

// buildAuth makes a guard per trusted verifier, each requiring the route's
// rules before next.
func (g *Gateway) buildAuth(st *state, rc *Route, verifiers map[string]*issuerVerifier, next http.HandlerFunc) (*routeAuth, error) {
	rule, err := rulesOf(rc.Rules)
	if err != nil {
		return nil, err
	}
	if sc := senderConstraintRule(rc.SenderConstraint); sc != nil { // validatebinding.go
		rule = guard.All(sc, rule)
	}
	names := rc.Issuers
	if len(names) == 0 {
		for _, is := range st.cfg.Issuers {
			names = append(names, is.Name)
		}
	}
	a := &routeAuth{}
	for _, name := range names {
		iv := verifiers[name]
		for j, v := range iv.verifiers {
			// Tokens refused for good are answered from the refusal
			// cache after their first check (refusalcache.go).
			refused, err := newRefusalCache(v, st.binding.options()...)
			if err != nil {
				return nil, err
			}
			opts := []guard.Option{guard.WithLogger(g.log), guard.WithErrorWriter(refused.errorWriter), guard.WithTracerProvider(g.tel.tp)}
			gd, err := guard.New(v, append(opts, st.binding.options()...)...) // binding.go
			if err != nil {
				return nil, err
			}
			h := iv.requireKeys(refused.wrap(gd.Require(rule, next)))
			a.candidates = append(a.candidates, candidate{issuer: iv.issuer, audience: iv.audiences[j], handler: h})
		}
	}
	return a, nil
}

// serve hands the request to the guard of the issuer and audience the
// token names. The choice only selects which verifier checks the token:
// that verifier checks everything (signature, iss, aud, exp, ...) as if it
// were the only one, so a token that lies about its issuer is refused by
// the verifier it pointed to.
func (a *routeAuth) serve(w http.ResponseWriter, r *http.Request) {
	if len(a.candidates) == 1 {
		a.candidates[0].handler.ServeHTTP(w, r)
		return
	}
	a.pick(r).ServeHTTP(w, r)
}

func (a *routeAuth) pick(r *http.Request) http.Handler {
	scheme, raw, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !(strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "DPoP")) || len(raw) > 16<<10 {
		return a.candidates[0].handler
	}
	_, payload, err := token.ParseUnverified(strings.TrimSpace(raw))
	if err != nil {
		return a.candidates[0].handler
	}
	var peek struct {
		Iss string         `json:"iss"`
		Aud token.Audience `json:"aud"`
	}
	if json.Unmarshal(payload, &peek) != nil {
		return a.candidates[0].handler
	}
	var byIssuer http.Handler
	for _, c := range a.candidates {
		if c.issuer != peek.Iss {
			continue
		}
		if peek.Aud.Contains(c.audience) {
			return c.handler
		}
		if byIssuer == nil {
			byIssuer = c.handler
		}
	}
	if byIssuer != nil {
		return byIssuer
	}
	return a.candidates[0].handler
}

// rulesOf combines a route's rules: all must allow.
func rulesOf(rs *Rules) (guard.Rule, error) {
	if rs == nil {
		return guard.Authenticated(), nil
	}
	rules := []guard.Rule{guard.Authenticated()}
	for _, r := range rs.Roles {
		rules = append(rules, guard.Role(r))
	}
	if len(rs.AnyRole) > 0 {
		rules = append(rules, guard.AnyRole(rs.AnyRole...))
	}
	for _, s := range rs.Scopes {
		rules = append(rules, guard.Scope(s))
	}
	for _, gr := range rs.Groups {
		rules = append(rules, guard.Group(gr))
	}
	if rs.Expr != "" {
		e, err := exprRule(rs.Expr)
		if err != nil {
			return nil, fmt.Errorf("rules.expr: %w", err)
		}
		rules = append(rules, e)
	}
	if len(rules) == 1 {
		return rules[0], nil
	}
	return guard.All(rules...), nil
}

// exprRule compiles a CEL rule (guardcel.Expr); routes have no resource.
func exprRule(src string) (guard.Rule, error) { return guardcel.Expr(src) }
