package authserver_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/internal/pgtest"
)

// The auth server on a PostgreSQL server of the test's own that goes away:
// sessions terminated by the server (57P01) and a stopped server answer
// 503 temporarily_unavailable, never 500; the reload backs off instead of
// running (and logging) on every request; CheckStore says the store is
// unavailable; once the server is back, refreshes work and the reload
// logs its recovery.
func TestPostgresOutage(t *testing.T) {
	pg := pgtest.NewServer(t)
	ctx := context.Background()
	store, err := postgres.Open(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.CreateUser(ctx, &identity.User{Username: "alice", Email: "alice@acme.test", PasswordHash: mustHash(t, alicePassword)}); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateClient(ctx, &identity.Client{ID: "cli", SecretHash: mustHash(t, cliSecret),
		Grants: []string{identity.GrantPassword, identity.GrantRefreshToken}, Scopes: []string{"orders:read"}, Audiences: []string{"orders"}}); err != nil {
		t.Fatal(err)
	}
	const reload = 2 * time.Second
	e := startOn(t, store, func(c *authserver.Config) { c.KeyReload = reload })
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint(), Scopes: []string{"orders:read"}}
	tok, err := cfg.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	current := tok.RefreshToken
	// refused posts a refresh that must be refused with 503
	// temporarily_unavailable and a Retry-After.
	refused := func(what string) {
		t.Helper()
		status, code, desc, retry := tokenError(t, e, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {current}})
		if status != http.StatusServiceUnavailable || code != "temporarily_unavailable" || retry == "" {
			t.Fatalf("%s: refresh answered %d %s (%s), want 503 temporarily_unavailable with Retry-After", what, status, code, desc)
		}
	}
	// A refresh that succeeds rotates the token; keep the new one.
	rotate := func(what string) int {
		t.Helper()
		nt, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: current}).Token()
		if err == nil {
			current = nt.RefreshToken
			return http.StatusOK
		}
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.Response.StatusCode != http.StatusServiceUnavailable || re.ErrorCode != "temporarily_unavailable" ||
			re.Response.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: %v, want 200 or 503 temporarily_unavailable with Retry-After", what, err)
		}
		return http.StatusServiceUnavailable
	}

	// 57P01: the server ends the pool's sessions.
	pg.TerminateSessions(t)
	for i := range 3 {
		t.Logf("refresh #%d after pg_terminate_backend: %d", i+1, rotate("after pg_terminate_backend"))
	}
	if rotate("after the pool reconnected") != http.StatusOK {
		t.Fatal("no refresh after the pool reconnected")
	}

	// The server stops for about three reload intervals, under load.
	pg.Stop(t)
	start, requests := time.Now(), 0
	for time.Since(start) < 3*reload {
		refused("server stopped")
		resp, err := http.Get(e.url + "/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		requests += 2
		time.Sleep(10 * time.Millisecond)
	}
	logs := e.logs.String()
	failures := strings.Count(logs, "reload of signing keys and revocations failed") + strings.Count(logs, "reload of signing keys and revocations still failing")
	// Reloads due at 2s, then retries 1s, 2s, 2s apart: about 3 in 6s.
	t.Logf("%d reload failure lines for %d requests in %s", failures, requests, time.Since(start).Round(time.Millisecond))
	if failures == 0 || failures > 5 {
		t.Errorf("%d reload failure lines for %d requests in %s, want a handful", failures, requests, time.Since(start).Round(time.Millisecond))
	}
	if strings.Contains(logs, `"status":500`) || strings.Contains(logs, "server_error") {
		t.Errorf("a 500 in the log:\n%s", logs)
	}
	if err := e.srv.CheckStore(ctx); !errors.Is(err, identity.ErrUnavailable) {
		t.Errorf("CheckStore with the server stopped: %v", err)
	}

	pg.Start(t)
	deadline := time.Now().Add(15 * time.Second)
	for rotate("server back") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("refresh does not work again after the server restarted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := e.srv.CheckStore(ctx); err != nil {
		t.Errorf("CheckStore with the server back: %v", err)
	}
	for !strings.Contains(e.logs.String(), "reload of signing keys and revocations works again") {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery line in the log:\n%s", e.logs.String())
		}
		rotate("waiting for the reload")
		time.Sleep(100 * time.Millisecond)
	}
}
