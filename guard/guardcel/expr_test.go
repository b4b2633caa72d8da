package guardcel_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/guard/guardcel"
	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// orders is the resource of the tests: order id → owner, org.
var orders = map[string]struct{ owner, org string }{
	"1": {"alice", "acme"},
	"2": {"bob", "acme"},
	"3": {"carol", "globex"},
}

var errDB = errors.New("database unreachable")

func orderResource(r *http.Request) (map[string]any, error) {
	switch id := r.PathValue("id"); id {
	case "broken":
		return nil, errDB
	default:
		o, ok := orders[id]
		if !ok {
			return nil, fmt.Errorf("order %s: %w", id, guard.ErrNotFound)
		}
		return map[string]any{"owner": o.owner, "org": o.org, "amount": 120}, nil
	}
}

func mustExpr(t *testing.T, src string, opts ...guardcel.Option) guard.Rule {
	t.Helper()
	r, err := guardcel.Expr(src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// alice is a user of organization acme.
var alice = token.Claims{
	Subject: "alice", ClientID: "spa", Email: "alice@acme.test", Org: "acme",
	Scope: "openid orders:read", Roles: []string{"user"}, Groups: []string{"staff"},
}

// TestExpr runs every expression allowed and refused, through a ServeMux
// route "/orders/{id}" so that expressions see path values.
func TestExpr(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("orders"))
	g, err := guard.New(iss.Verifier(), guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	admin := token.Claims{Subject: "root", Org: "acme", Roles: []string{"admin"}, Scope: "orders:read"}
	bob := token.Claims{Subject: "bob", Org: "acme", Roles: []string{"user", "auditor"}, Groups: []string{"admin"},
		ScopeList: token.StringList{"orders:write"}, Extra: map[string]any{"tier": "gold", "level": 3}}
	noOrg := token.Claims{Subject: "dave"}

	const (
		forbidden = problem.TypeForbidden
		notFound  = problem.TypeNotFound
		internal  = problem.TypeInternal
	)
	tests := []struct {
		name   string
		rule   guard.Rule
		method string // default GET
		id     string
		claims token.Claims
		header []string
		typ    string // "" allowed
	}{
		{name: "expr: admin", rule: mustExpr(t, `'admin' in token.roles || resource.owner == token.sub`, guardcel.WithResource(orderResource)),
			id: "2", claims: admin},
		{name: "expr: owner", rule: mustExpr(t, `'admin' in token.roles || resource.owner == token.sub`, guardcel.WithResource(orderResource)),
			id: "1", claims: alice},
		{name: "expr refused", rule: mustExpr(t, `'admin' in token.roles || resource.owner == token.sub`, guardcel.WithResource(orderResource)),
			id: "2", claims: alice, typ: forbidden},
		{name: "expr: resource not found", rule: mustExpr(t, `resource.owner == token.sub`, guardcel.WithResource(orderResource)),
			id: "9", claims: alice, typ: notFound},
		{name: "expr: resource lookup fails", rule: mustExpr(t, `resource.owner == token.sub`, guardcel.WithResource(orderResource)),
			id: "broken", claims: alice, typ: internal},
		{name: "expr: absent roles are empty", rule: mustExpr(t, `!('admin' in token.roles) && token.org == ''`), id: "1", claims: noOrg},
		{name: "expr: scope list of scope and scp", rule: mustExpr(t, `'orders:write' in token.scope && token.scope.size() == 1`), id: "1", claims: bob},
		{name: "expr: custom claims", rule: mustExpr(t, `token.tier == 'gold' && token.level >= 3`), id: "1", claims: bob},
		{name: "expr: missing custom claim refuses", rule: mustExpr(t, `token.tier == 'gold'`), id: "1", claims: alice, typ: forbidden},
		{name: "expr: has() for optional claims", rule: mustExpr(t, `!has(token.tier) || token.tier == 'gold'`), id: "1", claims: alice},
		{name: "expr: request", rule: mustExpr(t, `request.method == 'DELETE' && request.path == '/orders/1' && request.params.id == '1' && request.header['X-Reason'] == 'audit'`),
			method: http.MethodDelete, id: "1", claims: alice, header: []string{"X-Reason", "audit"}},
		{name: "expr: not a bool at run time", rule: mustExpr(t, `token.sub`), id: "1", claims: alice, typ: forbidden},
		{name: "expr: request refused", rule: mustExpr(t, `request.method == 'GET'`), method: http.MethodDelete, id: "1", claims: alice, typ: forbidden},
		{name: "expr: no Authorization header in request", rule: mustExpr(t, `!('Authorization' in request.header)`), id: "1", claims: alice},
		{name: "expr: org and resource", rule: mustExpr(t, `resource.org == token.org && resource.amount < 1000`, guardcel.WithResource(orderResource)),
			id: "2", claims: alice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("/orders/{id}", g.Require(tt.rule, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, "/orders/"+tt.id, nil)
			req.Header.Set("Authorization", "Bearer "+iss.Token(tt.claims))
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Add(tt.header[i], tt.header[i+1])
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if tt.typ == "" {
				if rec.Code != http.StatusOK {
					t.Fatalf("refused %d: %s", rec.Code, rec.Body)
				}
				return
			}
			status := map[string]int{forbidden: 403, notFound: 404, internal: 500}[tt.typ]
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if rec.Code != status || body["type"] != tt.typ {
				t.Fatalf("status %d type %v, want %d %s: %s", rec.Code, body["type"], status, tt.typ, rec.Body)
			}
			if status == 500 && (body["detail"] != nil || strings.Contains(rec.Body.String(), "database")) {
				t.Errorf("500 with details: %s", rec.Body)
			}
		})
	}
}

func TestExprErrors(t *testing.T) {
	for _, tt := range []struct {
		src  string
		opts []guardcel.Option
		want string
	}{
		{src: `'admin' in token.roles ||`, want: "Syntax error"},
		{src: `token.sub + '!'`, want: "not bool"},
		{src: `1 + 1`, want: "not bool"},
		{src: `user.admin`, want: "undeclared reference to 'user'"},
		{src: `resource.owner == token.sub`, want: "WithResource"},
		{src: `size(token.roles) > 'a'`, want: "no matching overload"},
	} {
		_, err := guardcel.Expr(tt.src, tt.opts...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.src, err, tt.want)
		}
	}
	if _, err := guardcel.Expr(`true`, guardcel.WithResource(nil)); err == nil {
		t.Error("nil resource function accepted")
	}
}
