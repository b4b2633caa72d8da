package guard_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// exampleSetup returns an issuer and a guard of the orders service. A real
// service builds its verifier on keys.NewRemoteFromIssuer instead.
func exampleSetup() (*token.Issuer, *guard.Guard) {
	key, err := keys.Generate(keys.ES256)
	if err != nil {
		panic(err)
	}
	issuer, _ := token.NewIssuer("https://auth.example", key)
	src, _ := keys.NewStatic(key)
	v, _ := token.NewVerifier(src, "https://auth.example", "orders")
	g, err := guard.New(v, guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		panic(err)
	}
	return issuer, g
}

type order struct {
	ID   string `json:"id"`
	Org  string `json:"org"`
	Item string `json:"item"`
}

// orderStore stands for the service's database.
type orderStore struct{ rows []order }

// find is "SELECT ... WHERE id = $1 AND org = $2": the organization is part
// of the query, not a check after it, so that no code path can return
// another organization's row. An empty org matches nothing.
func (s *orderStore) find(org, id string) (order, bool) {
	for _, o := range s.rows {
		if o.ID == id && o.Org == org && org != "" {
			return o, true
		}
	}
	return order{}, false
}

// Guard every route of a service: a request reaches the handler only with
// a valid bearer token for this service's audience, and finds the caller
// in its context. A request without a token is challenged; a token for
// another service is refused with invalid_token.
func ExampleGuard_Middleware() {
	issuer, g := exampleSetup()
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := guard.PrincipalFrom(r.Context())
		fmt.Fprintf(w, "hello %s of %s", p.Subject, p.Org)
	})
	h := g.Middleware(app) // http.Handle("/", h) in a service

	alice, _ := issuer.AccessToken(token.Claims{Subject: "alice", Org: "acme", Audience: token.Audience{"orders"}})
	forPayments, _ := issuer.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{"payments"}})
	for _, bearer := range []string{alice, "", forPayments} {
		req := httptest.NewRequest(http.MethodGet, "/orders", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(rec.Code, " ", rec.Header().Get("WWW-Authenticate"))))
		fmt.Println("  " + strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200
	//   hello alice of acme
	// 401 Bearer realm="orders"
	//   {"type":"https://gatehouse.dev/problems/authentication-required","title":"Authentication required","status":401,"detail":"a bearer token is required"}
	// 401 Bearer realm="orders", error="invalid_token", error_description="wrong audience: aud does not contain 'orders'"
	//   {"type":"https://gatehouse.dev/problems/invalid-token","title":"Invalid access token","status":401,"detail":"wrong audience: aud does not contain \"orders\"","error":"invalid_token"}
}

// The service that owns organization-scoped data filters every
// query by the caller's organization, guard.Org. A record of another
// organization is answered exactly like a missing one: 404 with the same
// body, so that a caller cannot tell which ids other organizations use.
func Example_organizationScopedData() {
	issuer, g := exampleSetup()
	store := &orderStore{rows: []order{
		{ID: "1", Org: "acme", Item: "anvil"},
		{ID: "2", Org: "globex", Item: "rocket"},
	}}

	mux := g.Mux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		o, ok := store.find(guard.Org(r.Context()), r.PathValue("id"))
		if !ok {
			g.Refuse(w, r, guard.ErrNotFound) // the same answer for "missing" and "not yours"
			return
		}
		json.NewEncoder(w).Encode(o)
	}, guard.Scope("orders:read"))

	// alice of acme asks for her organization's order, globex's order and
	// an order that does not exist.
	alice, _ := issuer.AccessToken(token.Claims{Subject: "alice", Org: "acme", Audience: token.Audience{"orders"}, Scope: "orders:read"})
	for _, id := range []string{"1", "2", "3"} {
		req := httptest.NewRequest(http.MethodGet, "/orders/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+alice)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(id, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 1 200 {"id":"1","org":"acme","item":"anvil"}
	// 2 404 {"type":"https://gatehouse.dev/problems/not-found","title":"Not found","status":404}
	// 3 404 {"type":"https://gatehouse.dev/problems/not-found","title":"Not found","status":404}
}

// Rules per route, with Go's ServeMux patterns: "admin or owner of order
// {id}" for DELETE, a scope for GET, and a public health check.
func ExampleMux() {
	issuer, g := exampleSetup()
	owners := map[string]string{"7": "alice", "8": "bob"}
	ownerOf := func(r *http.Request) (string, error) {
		o, ok := owners[r.PathValue("id")]
		if !ok {
			return "", guard.ErrNotFound
		}
		return o, nil
	}
	done := func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "done") }

	mux := g.Mux()
	mux.HandleFunc("GET /healthz", done, guard.Public)
	mux.HandleFunc("GET /api/orders/{id}", done, guard.Scope("orders:read"))
	mux.HandleFunc("DELETE /api/orders/{id}", done, guard.Any(guard.Role("admin"), guard.Owner(ownerOf)))

	alice, _ := issuer.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{"orders"}, Roles: []string{"user"}})
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/healthz", ""},
		{"GET", "/api/orders/7", ""},
		{"GET", "/api/orders/7", alice},
		{"DELETE", "/api/orders/7", alice},
		{"DELETE", "/api/orders/8", alice},
		{"DELETE", "/api/orders/9", alice},
	} {
		req := httptest.NewRequest(c.method, c.path, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(c.method, " ", c.path, " ", rec.Code, " ", rec.Header().Get("WWW-Authenticate"))))
	}
	// Output:
	// GET /healthz 200
	// GET /api/orders/7 401 Bearer realm="orders"
	// GET /api/orders/7 403 Bearer realm="orders", error="insufficient_scope", error_description="the scope orders:read is required", scope="orders:read"
	// DELETE /api/orders/7 200
	// DELETE /api/orders/8 403
	// DELETE /api/orders/9 404
}
