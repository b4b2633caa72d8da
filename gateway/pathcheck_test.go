package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// ordersLayout is the layout of examples/gateway.yaml: a DELETE route for
// admins beside a prefix route that any orders:read token passes; a
// DELETE route whose pattern ends in a slash beside another prefix; an
// exact DELETE route and a public catch-all.
const ordersLayout = `
issuers: [{name: main, issuer: {{ISS}}, audiences: [gateway]}]
routes:
  - name: order-delete
    pattern: "DELETE /api/orders/{id}"
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {expr: "'admin' in token.roles"}
  - name: orders
    path: /api/orders
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {scopes: ["orders:read"]}
  - name: cart-delete
    pattern: "DELETE /api/carts/{id}/"
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {roles: [admin]}
  - name: carts
    path: /api/carts
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {scopes: ["orders:read"]}
  - name: purge
    pattern: "DELETE /api/purge"
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {roles: [admin]}
  - name: public
    path: /
    upstreams: ["{{U}}"]
    auth: none
`

// TestTrailingSlashAndPathFamily: bob (orders:read, not admin) tries to
// reach DELETE /api/orders/{id} by every spelling of the path that an
// upstream (Express, ASP.NET Core, older Spring, Tomcat, WSGI servers)
// could read as /api/orders/A1 while the gateway would route it to the
// weaker prefix route. Each is refused before routing, and the upstream
// never gets a DELETE. The request is written on a raw connection, as
// sent: net/http's client would not send some of these paths unchanged.
func TestTrailingSlashAndPathFamily(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	up := newRecording(t)
	gw := startGW(t, ordersLayout, map[string]string{"ISS": iss.URL, "U": up.URL})
	bob := iss.Token(token.Claims{Subject: "bob", Scope: "orders:read"})
	alice := iss.Token(token.Claims{Subject: "alice", Scope: "orders:read", Roles: []string{"admin"}})
	send := func(method, target, tok string) *http.Response {
		t.Helper()
		resp, _ := gw.raw(t, fmt.Sprintf("%s %s HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", method, target, tok))
		return resp
	}

	// The rule holds as sent.
	problemOf(t, send("DELETE", "/api/orders/A1", bob), 403, "")
	for _, target := range []string{
		"/api/orders/A1/",     // trailing slash: the finding
		"/api/orders/A1//",    // two
		"/api/orders//A1",     // empty segment
		"//api/orders/A1",     // empty first segment
		"/api/orders/A1%2F",   // encoded slash in {id}
		"/api/orders/A1%2f",   // in lowercase
		"/api/orders/A1%2Fx",  // inside the segment
		"/api/orders/A1;x=1",  // matrix parameter
		"/api/orders;/A1",     // matrix parameter on a literal segment
		"/api/orders/%2e/A1",  // encoded dot segment
		"/api/orders/./A1",    // dot segment
		"/api/orders/x/../A1", // dot-dot segment
		"/api/orders/A1/.",    // trailing dot segment
		"/api/orders/A1.",     // segment ending in a dot (Windows)
		"/api/orders/A1%5C",   // encoded backslash
		"/api/ORDERS/A1",      // case: public as sent, order-delete without case
		"/API/orders/A1/",     // case and slash
		"/api/Orders/A1/",     // case and slash
		"/api/orders/A1%00",   // NUL
	} {
		t.Run(target, func(t *testing.T) {
			problemOf(t, send("DELETE", target, bob), 400, TypeAmbiguousPath)
		})
	}
	// Public as sent, as sent without its slash and without case; the
	// admins' route without both.
	problemOf(t, send("DELETE", "/api/Purge/", bob), 400, TypeAmbiguousPath)
	problemOf(t, send("DELETE", "/api/purge/", bob), 400, TypeAmbiguousPath)
	if seen, _ := up.got(); len(seen) != 0 {
		t.Fatalf("the upstream got %q under a weaker route's rules", seen)
	}

	// What the rules allow still passes, with or without a slash where
	// both forms take the same route.
	for _, tc := range []struct {
		method, target, tok, want string
	}{
		{"DELETE", "/api/orders/A1", alice, "DELETE /api/orders/A1"},
		{"GET", "/api/orders/A1", bob, "GET /api/orders/A1"},
		{"GET", "/api/orders/A1/", bob, "GET /api/orders/A1/"}, // no GET route but orders
		{"GET", "/api/orders/", bob, "GET /api/orders/"},
		{"GET", "/api/orders", bob, "GET /api/orders"},
		// A pattern that ends in a slash: the form without it redirects
		// to it (ServeMux), so its own form is not ambiguous.
		{"DELETE", "/api/carts/C1/", alice, "DELETE /api/carts/C1/"},
	} {
		if resp := send(tc.method, tc.target, tc.tok); resp.StatusCode != 200 {
			t.Errorf("%s %s: %d, want 200", tc.method, tc.target, resp.StatusCode)
		}
		if seen, _ := up.got(); !slices.Equal(seen, []string{tc.want}) {
			t.Errorf("%s %s: the upstream got %q", tc.method, tc.target, seen)
		}
	}
	// bob on the slash-ending DELETE pattern: without the slash the mux
	// redirects to it; with it the admin rule applies.
	if resp := send("DELETE", "/api/carts/C1", bob); resp.StatusCode/100 != 3 {
		t.Errorf("DELETE /api/carts/C1: %d, want the mux's redirect to the slash form", resp.StatusCode)
	}
	problemOf(t, send("DELETE", "/api/carts/C1/", bob), 403, "")
	if seen, _ := up.got(); len(seen) != 0 {
		t.Fatalf("the upstream got %q", seen)
	}
}
