package authserver_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// An auth server on the embedded SQLite store issues a client credentials
// token to a service; the service it calls verifies it with the keys of the
// issuer's discovery document.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	// One client: service "accounts", allowed to ask for tokens for "orders".
	hash, _ := identity.HashSecret("accounts-secret-0123456789")
	store.CreateClient(ctx, &identity.Client{ID: "accounts", SecretHash: hash,
		Grants: []string{identity.GrantClientCredentials}, Scopes: []string{"orders:read"}, Audiences: []string{"orders"}})

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	issuer := "http://" + ln.Addr().String()
	srv, err := authserver.New(ctx, authserver.Config{Issuer: issuer, Store: store})
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	// The service's side: golang.org/x/oauth2, unchanged.
	cc := clientcredentials.Config{ClientID: "accounts", ClientSecret: "accounts-secret-0123456789",
		TokenURL: issuer + "/oauth2/token", Scopes: []string{"orders:read"}}
	tok, err := cc.Token(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The orders service: keys from the issuer's discovery document.
	src, _ := keys.NewRemoteFromIssuer(ctx, issuer)
	v, _ := token.NewVerifier(src, issuer, "orders")
	claims, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(claims.Subject, claims.ClientID, claims.Scope)
	// Output: accounts accounts orders:read
}
