package guard_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

const (
	e2ePassword  = "correct horse battery staple"
	e2eSvcSecret = "svc-secret-0123456789"
	e2eCliSecret = "cli-secret-0123456789"
)

// startAuthServer runs the real auth server on a SQLite store with a user
// (alice: admin of acme) and two clients: svc (client credentials) and cli
// (password grant). It returns the issuer URL.
func startAuthServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	pw, err := identity.HashPasswordWith(e2ePassword, testHashCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateUser(ctx, &identity.User{Username: "alice", Email: "alice@acme.test", PasswordHash: pw,
		Org: "acme", Groups: []string{"admin"}, Roles: []string{"admin", "user"}}); err != nil {
		t.Fatal(err)
	}
	hash := func(s string) string {
		h, err := identity.HashPasswordWith(s, testHashCost)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	for _, c := range []*identity.Client{
		{ID: "svc", SecretHash: hash(e2eSvcSecret), Grants: []string{identity.GrantClientCredentials},
			Scopes: []string{"orders:read"}, Audiences: []string{"orders", "accounts"}},
		{ID: "cli", SecretHash: hash(e2eCliSecret), Grants: []string{identity.GrantPassword},
			Scopes: []string{"openid", "orders:read", "orders:write"}, Audiences: []string{"orders"}},
	} {
		if err := store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	srv, err := authserver.New(ctx, authserver.Config{Issuer: issuer, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return issuer
}

// TestAuthServerEndToEnd guards an orders service with keys from the real
// auth server's JWKS and calls it with the tokens that server issues.
func TestAuthServerEndToEnd(t *testing.T) {
	issuer := startAuthServer(t)
	ctx := context.Background()
	src, err := keys.NewRemoteFromIssuer(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(src, issuer, "orders")
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(v, guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	mux := g.Mux()
	mux.HandleFunc("GET /api/orders", echo, guard.Scope("orders:read"))
	mux.HandleFunc("DELETE /api/orders/{id}", echo, guard.All(guard.Role("admin"), guard.Scope("orders:write")))
	mux.HandleFunc("GET /api/admin/accounts", echo, guard.Group("admin"))
	orders := httptest.NewServer(mux)
	defer orders.Close()

	svc := clientcredentials.Config{ClientID: "svc", ClientSecret: e2eSvcSecret, TokenURL: issuer + "/oauth2/token"}
	svcToken, err := svc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc.EndpointParams = map[string][]string{"audience": {"accounts"}}
	accountsToken, err := svc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cli := oauth2.Config{ClientID: "cli", ClientSecret: e2eCliSecret, Scopes: []string{"orders:read", "orders:write"},
		Endpoint: oauth2.Endpoint{TokenURL: issuer + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	aliceToken, err := cli.PasswordCredentialsToken(ctx, "alice", e2ePassword)
	if err != nil {
		t.Fatal(err)
	}

	call := func(method, path, raw string) (*http.Response, map[string]any) {
		req, _ := http.NewRequestWithContext(ctx, method, orders.URL+path, nil)
		if raw != "" {
			req.Header.Set("Authorization", "Bearer "+raw)
		}
		resp, err := orders.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	tests := []struct {
		name   string
		method string
		path   string
		raw    string
		status int
		check  func(map[string]any) bool
	}{
		{"service token", "GET", "/api/orders", svcToken.AccessToken, 200,
			func(b map[string]any) bool { return b["sub"] == "svc" && b["client"] == "svc" }},
		{"service token is no admin", "DELETE", "/api/orders/7", svcToken.AccessToken, 403,
			func(b map[string]any) bool { return b["type"] == problem.TypeForbidden }},
		{"token for another audience", "GET", "/api/orders", accountsToken.AccessToken, 401,
			func(b map[string]any) bool { return b["type"] == problem.TypeInvalidToken }},
		{"user token", "GET", "/api/orders", aliceToken.AccessToken, 200,
			func(b map[string]any) bool {
				return b["org"] == "acme" && b["email"] == "alice@acme.test" && b["client"] == "cli"
			}},
		{"admin with scope", "DELETE", "/api/orders/7", aliceToken.AccessToken, 200, nil},
		{"group", "GET", "/api/admin/accounts", aliceToken.AccessToken, 200, nil},
		{"no token", "GET", "/api/orders", "", 401,
			func(b map[string]any) bool { return b["type"] == problem.TypeAuthenticationRequired }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := call(tt.method, tt.path, tt.raw)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tt.status, body)
			}
			if tt.check != nil && !tt.check(body) {
				t.Errorf("body %v", body)
			}
		})
	}
}

// testHashCost makes the tests' password and secret hashes cheap: the
// default argon2id costs are for guessing, not for test runs.
var testHashCost = identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
