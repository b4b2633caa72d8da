package authserver_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/identity"
)

// TestIntrospectionOnlyForWhoMayKnow is item 9 of issue #13: any
// confidential client could introspect another client's refresh token and
// learn its sub, scope and client_id, and any access token. Now a refresh
// token answers only its own client (or one with the introspection
// right), an access token only its client, a client its aud names, or one
// with the right; everyone else gets {"active": false}, as for a token
// that does not exist (RFC 7662 §4).
func TestIntrospectionOnlyForWhoMayKnow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const ordersSecret = "orders-secret-0123456789"
	// orders: the resource server cli's tokens are for (their default aud).
	if err := e.store.CreateClient(ctx, &identity.Client{ID: "orders", SecretHash: mustHash(t, ordersSecret),
		Grants: []string{identity.GrantClientCredentials}}); err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint(), Scopes: []string{"orders:read"}}
	tok, err := cfg.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"cli": cliSecret, "svc": svcSecret, "pay": paySecret, "web": webSecret, "orders": ordersSecret}
	for _, tc := range []struct {
		name, client, token string
		active              bool
	}{
		{"another client reads a refresh token", "pay", tok.RefreshToken, false},
		{"another client reads an access token not for it", "pay", tok.AccessToken, false},
		{"a code-flow client reads them", "web", tok.RefreshToken, false},
		{"the audience reads a refresh token", "orders", tok.RefreshToken, false},
		{"the audience reads the access token", "orders", tok.AccessToken, true},
		{"the client reads its refresh token", "cli", tok.RefreshToken, true},
		{"the client reads its access token", "cli", tok.AccessToken, true},
		{"the introspection right reads a refresh token", "svc", tok.RefreshToken, true},
		{"the introspection right reads an access token", "svc", tok.AccessToken, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, e, "/oauth2/introspect", url.Values{"token": {tc.token}}, tc.client, secrets[tc.client])
			if status != http.StatusOK || body["active"] != tc.active {
				t.Fatalf("%s: %d %v, want active %v", tc.client, status, body, tc.active)
			}
			if !tc.active && len(body) != 1 {
				t.Fatalf("a refused introspection tells more than active: %v", body)
			}
			if tc.active && body["sub"] != e.alice.ID {
				t.Fatalf("sub %v, want alice's", body["sub"])
			}
		})
	}
}
