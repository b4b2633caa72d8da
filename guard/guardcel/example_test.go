package guardcel_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/guard/guardcel"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// An order may be deleted by an admin or by its owner: one expression,
// compiled at start-up, with the order loaded only when the expression
// asks for it.
func ExampleExpr() {
	key, _ := keys.Generate(keys.ES256)
	issuer, _ := token.NewIssuer("https://auth.example", key)
	src, _ := keys.NewStatic(key)
	v, _ := token.NewVerifier(src, "https://auth.example", "orders")
	g, _ := guard.New(v, guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))

	owners := map[string]string{"A-1": "alice", "A-2": "bob"}
	loadOrder := func(r *http.Request) (map[string]any, error) {
		owner, ok := owners[r.PathValue("id")]
		if !ok {
			return nil, guard.ErrNotFound
		}
		return map[string]any{"owner": owner}, nil
	}
	canDelete, err := guardcel.Expr(`'admin' in token.roles || resource.owner == token.sub`,
		guardcel.WithResource(loadOrder))
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := g.Mux()
	mux.HandleFunc("DELETE /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}, canDelete)

	del := func(sub string, roles []string, id string) int {
		raw, _ := issuer.AccessToken(token.Claims{Subject: sub, Audience: token.Audience{"orders"}, Roles: roles})
		req := httptest.NewRequest(http.MethodDelete, "/orders/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec.Code
	}
	fmt.Println("alice deletes her order:", del("alice", nil, "A-1"))
	fmt.Println("alice deletes bob's order:", del("alice", nil, "A-2"))
	fmt.Println("an admin deletes bob's order:", del("root", []string{"admin"}, "A-2"))
	fmt.Println("a missing order:", del("alice", nil, "A-9"))
	// Output:
	// alice deletes her order: 204
	// alice deletes bob's order: 403
	// an admin deletes bob's order: 204
	// a missing order: 404
}
