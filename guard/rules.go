package guard

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
)

// Rule decides whether the verified caller p may make request r: nil
// allows; a [*Refusal] refuses with its reason; [ErrNotFound] answers 404;
// any other error means the rule could not decide and answers 500 (the
// error is logged, not shown). Rules run after the token was verified, so p
// is never nil. A rule must be safe for concurrent use.
//
// Rules are plain functions, built by the constructors below and combined
// with [All], [Any] and [Not], like Spring's authorizeHttpRequests or
// go-spiffe's tlsconfig.Authorizer.
type Rule func(r *http.Request, p *Principal) error

// Public marks a route or gRPC method that needs no token: the guard does
// not look at the request at all, and no principal is in the context. It is
// meant as the whole rule of a route; inside [All] or [Any] it allows,
// like [Authenticated].
func Public(*http.Request, *Principal) error { return nil }

var publicPC = reflect.ValueOf(Public).Pointer()

// isPublic reports whether rule is Public (compared once, at set-up).
func isPublic(rule Rule) bool { return rule != nil && reflect.ValueOf(rule).Pointer() == publicPC }

// Authenticated allows every caller with a valid token.
func Authenticated() Rule { return func(*http.Request, *Principal) error { return nil } }

// Role allows callers with role (the roles claim).
func Role(role string) Rule {
	mustName("Role", role)
	detail := "the role " + role + " is required"
	return func(_ *http.Request, p *Principal) error {
		if p.HasRole(role) {
			return nil
		}
		return Forbidden(detail)
	}
}

// AnyRole allows callers with at least one of roles.
func AnyRole(roles ...string) Rule {
	if len(roles) == 0 {
		panic("guard: AnyRole needs at least one role")
	}
	for _, r := range roles {
		mustName("AnyRole", r)
	}
	detail := "one of the roles " + strings.Join(roles, ", ") + " is required"
	return func(_ *http.Request, p *Principal) error {
		for _, r := range roles {
			if p.HasRole(r) {
				return nil
			}
		}
		return Forbidden(detail)
	}
}

// Scope allows tokens that grant scope, in the scope string or the scp
// array (Spring's SCOPE_x authority). A refusal is 403 insufficient_scope
// with scope in the challenge (RFC 6750 §3.1).
func Scope(scope string) Rule {
	mustName("Scope", scope)
	if strings.ContainsAny(scope, " \"\\") {
		panic("guard: a scope has no spaces, quotes or backslashes: " + scope)
	}
	detail := "the scope " + scope + " is required"
	return func(_ *http.Request, p *Principal) error {
		if p.Claims.HasScope(scope) {
			return nil
		}
		return &Refusal{Reason: ReasonInsufficientScope, Detail: detail, Scope: scope}
	}
}

// Group allows members of group (the groups claim).
func Group(group string) Rule {
	mustName("Group", group)
	detail := "membership of the group " + group + " is required"
	return func(_ *http.Request, p *Principal) error {
		if p.InGroup(group) {
			return nil
		}
		return Forbidden(detail)
	}
}

// SameOrg allows callers of the organization that owns the resource, which
// org returns (typically from the path: r.PathValue("org"), or from a
// lookup). A resource of another organization, or of none ("" from org),
// answers 404, the same as a missing resource (organization-scoped data): a
// caller cannot tell which records other organizations have. A caller without
// an organization matches none.
func SameOrg(org func(*http.Request) string) Rule {
	if org == nil {
		panic("guard: SameOrg needs a function")
	}
	return func(r *http.Request, p *Principal) error {
		if o := org(r); o == "" || p.Org == "" || o != p.Org {
			return &Refusal{Reason: ReasonNotFound}
		}
		return nil
	}
}

// Owner allows the owner of the resource: owner returns its owner's
// subject, compared with the caller's sub. An error wrapping [ErrNotFound]
// answers 404; any other lookup error 500, with the error in the log only.
// Combine with a role for "admin or owner of order {id}":
//
//	guard.Any(guard.Role("admin"), guard.Owner(ownerOfOrder))
func Owner(owner func(*http.Request) (string, error)) Rule {
	if owner == nil {
		panic("guard: Owner needs a function")
	}
	return func(r *http.Request, p *Principal) error {
		o, err := owner(r)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return &Refusal{Reason: ReasonNotFound, Err: err}
			}
			return &Refusal{Reason: ReasonInternal, Err: err}
		}
		if p.Subject == "" || o != p.Subject {
			return Forbidden("only the owner may do this")
		}
		return nil
	}
}

// All allows when every rule allows; it stops at the first refusal, so put
// cheap rules first.
func All(rules ...Rule) Rule {
	mustRules("All", rules)
	return func(r *http.Request, p *Principal) error {
		for _, rule := range rules {
			if err := rule(r, p); err != nil {
				return err
			}
		}
		return nil
	}
}

// Any allows when one rule allows, trying them in order. When all refuse,
// the answer is the weightiest refusal: a rule that could not decide (500,
// 503) first, then "not found" (so that an alternative cannot reveal that a
// resource exists), then the first refusal. When every rule refused for a
// missing scope, the refusal names all the scopes that would have allowed.
func Any(rules ...Rule) Rule {
	mustRules("Any", rules)
	return func(r *http.Request, p *Principal) error {
		var worst *Refusal
		var scopes []string
		allScope := true
		for _, rule := range rules {
			ref := asRefusal(rule(r, p))
			if ref == nil {
				return nil
			}
			if ref.Reason == ReasonInsufficientScope && ref.Scope != "" {
				scopes = append(scopes, ref.Scope)
			} else {
				allScope = false
			}
			if worst == nil || ref.weight() > worst.weight() {
				worst = ref
			}
		}
		if allScope && len(scopes) > 1 {
			joined := *worst
			joined.Scope = strings.Join(scopes, " ")
			joined.Detail = "one of the scopes " + joined.Scope + " is required"
			return &joined
		}
		return worst
	}
}

// Not allows when rule refuses with 403 (forbidden or insufficient scope),
// and refuses (403) when it allows. Any other outcome of rule (not found,
// could not decide) passes through: Not never turns an error into access.
func Not(rule Rule) Rule {
	mustRules("Not", []Rule{rule})
	return func(r *http.Request, p *Principal) error {
		ref := asRefusal(rule(r, p))
		switch {
		case ref == nil:
			return Forbidden("the request is excluded by a rule")
		case ref.Reason == ReasonForbidden || ref.Reason == ReasonInsufficientScope:
			return nil
		}
		return ref
	}
}

func mustName(fn, name string) {
	if name == "" {
		panic("guard: " + fn + " needs a non-empty name")
	}
}

func mustRules(fn string, rules []Rule) {
	if len(rules) == 0 {
		panic("guard: " + fn + " needs at least one rule")
	}
	for _, r := range rules {
		if r == nil {
			panic("guard: nil rule in " + fn)
		}
	}
}
