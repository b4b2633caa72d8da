package guardcel

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"

	"github.com/gatehousehq/gatehouse/guard"
)

// MaxCost bounds the evaluation cost of one expression (cel-go cost
// units), so that an expression over large claims cannot stall a request.
const MaxCost = 100000

// Option configures an [Expr] rule.
type Option interface{ applyExpr(*exprConfig) error }

type exprConfig struct {
	resource func(*http.Request) (map[string]any, error)
}

type exprOptionFunc func(*exprConfig) error

func (f exprOptionFunc) applyExpr(c *exprConfig) error { return f(c) }

// WithResource gives an expression its resource variable: fn loads the
// resource the request is about (say, the order of {id}) as a map. An error
// wrapping guard.ErrNotFound answers 404, another error 500. fn runs only
// when the expression uses resource.
func WithResource(fn func(*http.Request) (map[string]any, error)) Option {
	return exprOptionFunc(func(c *exprConfig) error {
		if fn == nil {
			return errors.New("guard: nil resource function")
		}
		c.resource = fn
		return nil
	})
}

var celEnv = sync.OnceValues(func() (*cel.Env, error) {
	m := cel.MapType(cel.StringType, cel.DynType)
	return cel.NewEnv(
		cel.Variable("token", m),
		cel.Variable("request", m),
		cel.Variable("resource", m),
	)
})

// Expr compiles a CEL expression (https://cel.dev) into a guard rule; it
// allows when the expression is true. Compile it at start-up: a syntax or
// type error fails here, with CEL's message. The variables:
//
//   - token: the verified claims: sub, iss, aud (list), exp, iat, nbf, jti,
//     client_id, scope (list, of scope and scp), roles, groups (lists, empty
//     when absent), org, email, name (strings, "" when absent), and every
//     custom claim as its JSON value (use has(token.x) for optional ones).
//   - request: method, path, header (first value of each header by
//     canonical name, such as request.header["X-Request-Id"]; without
//     Authorization, Cookie and Proxy-Authorization), params (the path
//     wildcards of the matched ServeMux pattern, such as request.params.id).
//   - resource: the map of [WithResource]; using it without that option is
//     an error.
//
// For example:
//
//	guardcel.Expr(`'admin' in token.roles || resource.owner == token.sub`, guardcel.WithResource(loadOrder))
//
// An expression that fails at run time (a missing key, a type mismatch, the
// cost limit) refuses with 403 and logs why.
func Expr(src string, opts ...Option) (guard.Rule, error) {
	var cfg exprConfig
	for _, o := range opts {
		if err := o.applyExpr(&cfg); err != nil {
			return nil, err
		}
	}
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("guard: CEL environment: %w", err)
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("guard: expression %q: %w", src, iss.Err())
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, fmt.Errorf("guard: expression %q is of type %s, not bool", src, cel.FormatCELType(t))
	}
	uses := map[string]bool{}
	for _, ref := range ast.NativeRep().ReferenceMap() {
		uses[ref.Name] = true
	}
	if uses["resource"] && cfg.resource == nil {
		return nil, fmt.Errorf("guard: expression %q uses resource; give it WithResource", src)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(MaxCost))
	if err != nil {
		return nil, fmt.Errorf("guard: expression %q: %w", src, err)
	}
	return func(r *http.Request, p *guard.Principal) error {
		vars := make(map[string]any, 3)
		if uses["token"] {
			vars["token"] = tokenVar(p)
		}
		if uses["request"] {
			vars["request"] = requestVar(r)
		}
		if uses["resource"] {
			res, err := cfg.resource(r)
			if err != nil {
				return err
			}
			if res == nil {
				res = map[string]any{}
			}
			vars["resource"] = res
		}
		out, _, err := prg.Eval(vars)
		if err != nil {
			return &guard.Refusal{Reason: guard.ReasonForbidden, Detail: "the request is not allowed", Err: fmt.Errorf("expression %q: %w", src, err)}
		}
		if ok, _ := out.Value().(bool); !ok {
			return guard.Forbidden("the request is not allowed")
		}
		return nil
	}, nil
}

// tokenVar is the token variable: the custom claims as JSON values, then
// the standard ones with their Go types, present even when absent from the
// token, so that 'admin' in token.roles is false rather than an error.
func tokenVar(p *guard.Principal) map[string]any {
	c := p.Claims
	m := map[string]any{}
	if raw := c.Raw(); raw != nil {
		_ = json.Unmarshal(raw, &m) // verified claims are one JSON object
	}
	m["iss"] = c.Issuer
	m["sub"] = c.Subject
	m["aud"] = orEmpty([]string(c.Audience))
	m["exp"] = int64(c.ExpiresAt)
	m["iat"] = int64(c.IssuedAt)
	m["nbf"] = int64(c.NotBefore)
	m["jti"] = c.ID
	m["client_id"] = c.ClientID
	m["scope"] = orEmpty(p.Scopes)
	m["roles"] = orEmpty(c.Roles)
	m["groups"] = orEmpty(c.Groups)
	m["org"] = c.Org
	m["email"] = c.Email
	m["name"] = c.Name
	return m
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// requestVar is the request variable.
func requestVar(r *http.Request) map[string]any {
	header := make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		switch k {
		case "Authorization", "Cookie", "Proxy-Authorization":
			continue
		}
		if len(v) > 0 {
			header[k] = v[0]
		}
	}
	params := map[string]string{}
	for rest := r.Pattern; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			break
		}
		name := strings.TrimSuffix(rest[i+1:i+j], "...")
		if name != "$" && name != "" {
			params[name] = r.PathValue(name)
		}
		rest = rest[i+j+1:]
	}
	return map[string]any{"method": r.Method, "path": r.URL.Path, "header": header, "params": params}
}
