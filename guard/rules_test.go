package guard_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/token"
)

// orders is the resource of the rule tests: order id → owner, org.
var orders = map[string]struct{ owner, org string }{
	"1": {"alice", "acme"},
	"2": {"bob", "acme"},
	"3": {"carol", "globex"},
}

var errDB = errors.New("database unreachable")

func ownerOf(r *http.Request) (string, error) {
	switch id := r.PathValue("id"); id {
	case "broken":
		return "", errDB
	default:
		o, ok := orders[id]
		if !ok {
			return "", fmt.Errorf("order %s: %w", id, guard.ErrNotFound)
		}
		return o.owner, nil
	}
}

func orgOf(r *http.Request) string { return orders[r.PathValue("id")].org }

// TestRules runs every rule allowed and refused, through a ServeMux route
// "/orders/{id}" so that rules see path values.
func TestRules(t *testing.T) {
	f := newFixture(t)
	admin := token.Claims{Subject: "root", Org: "acme", Roles: []string{"admin"}, Scope: "orders:read"}
	bob := token.Claims{Subject: "bob", Org: "acme", Roles: []string{"user", "auditor"}, Groups: []string{"admin"},
		ScopeList: token.StringList{"orders:write"}, Extra: map[string]any{"tier": "gold", "level": 3}}
	noOrg := token.Claims{Subject: "dave"}

	const (
		forbidden = problem.TypeForbidden
		scope     = problem.TypeInsufficientScope
		notFound  = problem.TypeNotFound
		internal  = problem.TypeInternal
	)
	tests := []struct {
		name      string
		rule      guard.Rule
		method    string // default GET
		id        string
		claims    token.Claims
		header    []string
		typ       string // "" allowed
		challenge string
	}{
		{name: "authenticated", rule: guard.Authenticated(), id: "1", claims: alice},

		{name: "role allowed", rule: guard.Role("admin"), id: "1", claims: admin},
		{name: "role refused", rule: guard.Role("admin"), id: "1", claims: alice, typ: forbidden},
		{name: "role refused without roles", rule: guard.Role("admin"), id: "1", claims: noOrg, typ: forbidden},

		{name: "any role allowed", rule: guard.AnyRole("admin", "auditor"), id: "1", claims: bob},
		{name: "any role refused", rule: guard.AnyRole("admin", "auditor"), id: "1", claims: alice, typ: forbidden},

		{name: "scope allowed (scope)", rule: guard.Scope("orders:read"), id: "1", claims: alice},
		{name: "scope allowed (scp)", rule: guard.Scope("orders:write"), id: "1", claims: bob},
		{name: "scope refused", rule: guard.Scope("orders:write"), id: "1", claims: alice, typ: scope,
			challenge: `Bearer realm="orders", error="insufficient_scope", error_description="the scope orders:write is required", scope="orders:write"`},
		{name: "scope is not a prefix match", rule: guard.Scope("orders"), id: "1", claims: alice, typ: scope, challenge: `Bearer realm="orders", error="insufficient_scope"…`},

		{name: "group allowed", rule: guard.Group("admin"), id: "1", claims: bob},
		{name: "group refused", rule: guard.Group("admin"), id: "1", claims: alice, typ: forbidden},
		{name: "a role is not a group", rule: guard.Group("admin"), id: "1", claims: admin, typ: forbidden},

		{name: "same org allowed", rule: guard.SameOrg(orgOf), id: "2", claims: alice},
		{name: "other org is not found", rule: guard.SameOrg(orgOf), id: "3", claims: alice, typ: notFound},
		{name: "missing is not found", rule: guard.SameOrg(orgOf), id: "9", claims: alice, typ: notFound},
		{name: "no org sees nothing", rule: guard.SameOrg(func(*http.Request) string { return "" }), id: "1", claims: noOrg, typ: notFound},

		{name: "owner allowed", rule: guard.Owner(ownerOf), id: "1", claims: alice},
		{name: "owner refused", rule: guard.Owner(ownerOf), id: "2", claims: alice, typ: forbidden},
		{name: "owner not found", rule: guard.Owner(ownerOf), id: "9", claims: alice, typ: notFound},
		{name: "owner lookup fails", rule: guard.Owner(ownerOf), id: "broken", claims: alice, typ: internal},
		{name: "empty owner, empty sub", rule: guard.Owner(func(*http.Request) (string, error) { return "", nil }), id: "1",
			claims: token.Claims{Subject: ""}, typ: forbidden},

		{name: "all allowed", rule: guard.All(guard.Scope("orders:read"), guard.Owner(ownerOf)), id: "1", claims: alice},
		{name: "all refused by the first", rule: guard.All(guard.Role("admin"), guard.Owner(ownerOf)), id: "1", claims: alice, typ: forbidden},
		{name: "all refused by the last", rule: guard.All(guard.Owner(ownerOf), guard.Scope("x")), id: "1", claims: alice, typ: scope,
			challenge: `Bearer realm="orders", error="insufficient_scope", error_description="the scope x is required", scope="x"`},

		{name: "any: admin", rule: guard.Any(guard.Role("admin"), guard.Owner(ownerOf)), id: "2", claims: admin},
		{name: "any: owner", rule: guard.Any(guard.Role("admin"), guard.Owner(ownerOf)), id: "1", claims: alice},
		{name: "any refused", rule: guard.Any(guard.Role("admin"), guard.Owner(ownerOf)), id: "2", claims: alice, typ: forbidden},
		{name: "any: not found outweighs forbidden", rule: guard.Any(guard.Role("admin"), guard.Owner(ownerOf)), id: "9", claims: alice, typ: notFound},
		{name: "any of scopes names them all", rule: guard.Any(guard.Scope("orders:admin"), guard.Scope("orders:write")), id: "1", claims: alice, typ: scope,
			challenge: `Bearer realm="orders", error="insufficient_scope", error_description="one of the scopes orders:admin orders:write is required", scope="orders:admin orders:write"`},
		{name: "any: undecided outweighs all", rule: guard.Any(guard.Owner(ownerOf), guard.Role("admin")), id: "broken", claims: alice, typ: internal},

		{name: "not allowed", rule: guard.Not(guard.Role("admin")), id: "1", claims: alice},
		{name: "not refused", rule: guard.Not(guard.Role("admin")), id: "1", claims: admin, typ: forbidden},
		{name: "not of a scope", rule: guard.Not(guard.Scope("orders:write")), id: "1", claims: alice},
		{name: "not passes not found", rule: guard.Not(guard.Owner(ownerOf)), id: "9", claims: alice, typ: notFound},
		{name: "not passes errors", rule: guard.Not(guard.Owner(ownerOf)), id: "broken", claims: alice, typ: internal},

		{name: "custom: refusal", rule: func(*http.Request, *guard.Principal) error { return guard.Forbidden("closed on Sundays") },
			id: "1", claims: alice, typ: forbidden},
		{name: "custom: not found", rule: func(*http.Request, *guard.Principal) error { return fmt.Errorf("x: %w", guard.ErrNotFound) },
			id: "1", claims: alice, typ: notFound},
		{name: "custom: error", rule: func(*http.Request, *guard.Principal) error { return errDB }, id: "1", claims: alice, typ: internal},
		{name: "public inside all", rule: guard.All(guard.Public, guard.Role("user")), id: "1", claims: alice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/orders/{id}", f.g.Require(tt.rule, http.HandlerFunc(echo)))
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req := newRequest(method, "/orders/"+tt.id, append(bearer(f.iss.Token(tt.claims)), tt.header...)...)
			rec := serve(mux, req)
			if tt.typ == "" {
				if rec.Code != http.StatusOK {
					t.Fatalf("refused %d: %s", rec.Code, rec.Body)
				}
				return
			}
			status := map[string]int{forbidden: 403, scope: 403, notFound: 404, internal: 500}[tt.typ]
			body := checkProblem(t, rec, status, tt.typ)
			checkChallenge(t, rec.Header().Get("WWW-Authenticate"), tt.challenge)
			if status == 500 && (body["detail"] != nil || strings.Contains(rec.Body.String(), "database")) {
				t.Errorf("500 with details: %s", rec.Body)
			}
			if tt.typ == scope && body["error"] != "insufficient_scope" {
				t.Errorf("body error %v", body["error"])
			}
		})
	}
}
