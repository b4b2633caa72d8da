package relay_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
)

// Against the real auth server (DPoP with server nonces) and a real guard
// (WithDPoP, nonces required): relay gets a DPoP-bound token for its own
// key after one use_dpop_nonce, then each call, and each retry after a
// 503, carries a proof of its own that the guard accepts; the guard's
// nonce costs one repeated request, once.
func TestAuthServerDPoPBound(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	const secret = "reports-secret-0123456789"
	if err := store.CreateClient(ctx, &identity.Client{ID: "reports", SecretHash: mustHash(t, secret), DPoPBoundTokens: true,
		Grants: []string{identity.GrantClientCredentials}, Scopes: []string{"orders:read"}, Audiences: []string{"orders"}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	srv, err := authserver.New(ctx, authserver.Config{Issuer: issuer, Store: store, Logger: slog.New(slog.DiscardHandler),
		DPoP: authserver.DPoPConfig{Nonce: true, NonceSecret: []byte("auth-server-nonce-secret-0123456789")}})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	var tokenHits atomic.Int32
	hs := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			tokenHits.Add(1)
		}
		h.ServeHTTP(w, r)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	nonces, err := dpop.NewNonces([]byte("orders-nonce-secret-0123456789abcd"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	proofs, err := dpop.NewVerifier(dpop.WithNonces(nonces))
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New((&authEnv{url: issuer}).verifier(t, "orders"), guard.WithDPoP(proofs, guard.RequireNonce()),
		guard.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var hits, busy atomic.Int32
	busy.Store(1) // the second accepted request is answered 503 once: retried
	orders := httptest.NewServer(g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 2 && busy.Add(-1) == 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	})))
	t.Cleanup(orders.Close)

	key, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	src, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
		OAuth2: clientcredentials.Config{ClientID: "reports", ClientSecret: secret, TokenURL: issuer + "/oauth2/token",
			Scopes: []string{"orders:read"}, AuthStyle: oauth2.AuthStyleInHeader},
		Audience: "orders",
		DPoP:     key,
	})
	if err != nil {
		t.Fatal(err)
	}
	client := relayClient(t, src, fastRetries()...)
	for i := range 3 {
		if st := getStatus(t, ctx, client, orders.URL+"/orders?page=1"); st != http.StatusOK {
			t.Fatalf("call %d: status %d", i, st)
		}
	}
	// Token endpoint: use_dpop_nonce, then the token. Orders: the nonce
	// refusal, then 3 calls of which one was retried after a 503.
	if tokenHits.Load() != 2 || hits.Load() != 4 {
		t.Fatalf("%d token requests, %d requests accepted by the guard; want 2 and 4", tokenHits.Load(), hits.Load())
	}
}

// Token exchange with DPoP against the real auth server: service A (users)
// exchanges alice's bearer token for a DPoP-bound token of its own key
// for profiles, which a guard with WithDPoP accepts with each call's proof;
// the exchanged token sent as plain Bearer is refused.
func TestAuthServerDPoPExchange(t *testing.T) {
	e := newAuthEnv(t)
	raw, claims := e.userToken(t, "users", "profile:read")
	key, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	ex, err := relay.NewExchange(relay.ExchangeConfig{TokenURL: e.tokenURL, ClientID: "users", ClientSecret: usersSecret,
		Audience: "profiles", Scopes: []string{"profile:read"}, DPoP: key})
	if err != nil {
		t.Fatal(err)
	}
	proofs, err := dpop.NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(e.verifier(t, "profiles"), guard.WithDPoP(proofs), guard.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Value
	profiles := httptest.NewServer(g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := dpop.AuthorizationToken(r.Header.Get("Authorization"))
		sent.Store(tok)
	})))
	t.Cleanup(profiles.Close)
	ctx := token.NewContext(context.Background(), raw, claims)
	client := relayClient(t, ex)
	for i := range 2 {
		if st := getStatus(t, ctx, client, profiles.URL+"/profiles/alice"); st != http.StatusOK {
			t.Fatalf("call %d: status %d", i, st)
		}
	}
	if e.tokenHits.Load() != 2 { // the password grant and one exchange
		t.Fatalf("%d token requests, want the login and one exchange", e.tokenHits.Load())
	}
	req, _ := http.NewRequest(http.MethodGet, profiles.URL+"/profiles/alice", nil)
	req.Header.Set("Authorization", "Bearer "+sent.Load().(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the DPoP-bound token as Bearer: status %d, want 401", resp.StatusCode)
	}
}
