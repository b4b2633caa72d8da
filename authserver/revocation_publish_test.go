package authserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/redistest"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/revocation/redislist"
	"github.com/gatehousehq/gatehouse/token"
)

func memoryList(t testing.TB) *revocation.List {
	t.Helper()
	l, err := revocation.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func aliceToken(t testing.TB, e *env) *oauth2.Token {
	t.Helper()
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint(), Scopes: []string{"orders:read"}}
	tok, err := cfg.PasswordCredentialsToken(context.Background(), "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// claimsOf decodes a token the test itself obtained.
func claimsOf(t testing.TB, e *env, raw string) *token.Claims {
	t.Helper()
	c, err := e.verifier(t, "orders").Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func listRevokes(t testing.TB, l *revocation.List, c *token.Claims) bool {
	t.Helper()
	r, err := l.Revoked(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// flaky is a publisher that fails while down is set.
type flaky struct {
	down atomic.Bool
	list *revocation.List
}

func (f *flaky) Add(ctx context.Context, e revocation.Entry) error {
	if f.down.Load() {
		return fmt.Errorf("%w: redis is down", revocation.ErrUnavailable)
	}
	return f.list.Add(ctx, e)
}

// OnRevoke passes the list's hook on, as a *revocation.List has it.
func (f *flaky) OnRevoke(fn func(revocation.Entry)) func() { return f.list.OnRevoke(fn) }

// One auth server (its start is costly) through the publishing cases in
// order.
func TestRevocationPublishing(t *testing.T) {
	t.Parallel()
	pub := &flaky{list: memoryList(t)}
	list := pub.list
	e := newEnv(t, func(c *authserver.Config) {
		c.Revocations = pub
		c.KeyReload = time.Hour
	})
	ctx := context.Background()

	// The revocation endpoint and RevokeSubject publish.
	tok := aliceToken(t, e)
	c := claimsOf(t, e, tok.AccessToken)
	if listRevokes(t, list, c) {
		t.Fatal("revoked before the revocation")
	}
	if status, _ := post(t, e, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "cli", cliSecret); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	if !listRevokes(t, list, c) {
		t.Fatal("the revocation endpoint did not publish the jti")
	}
	other := claimsOf(t, e, aliceToken(t, e).AccessToken)
	revokedAlice := time.Now()
	if err := e.srv.RevokeSubject(ctx, e.alice.ID); err != nil {
		t.Fatal(err)
	}
	if !listRevokes(t, list, other) {
		t.Fatal("RevokeSubject did not publish the subject")
	}

	// An entry added elsewhere (another instance, `gatehouse token
	// revoke`) applies to the auth server at once, not at its next reload.
	bobTok, err := (&oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint()}).PasswordCredentialsToken(ctx, "bob", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	bob := claimsOf(t, e, bobTok.AccessToken)
	now := time.Now()
	if err := list.Add(ctx, revocation.BySubject(bob.Subject, now.Add(time.Second), now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if introspect(t, e, bobTok.AccessToken) {
		t.Fatal("token of a subject revoked elsewhere still active")
	}

	// Publishing fails: 503 (RFC 6749 temporarily_unavailable), the entry
	// is stored and applied by the auth server itself.
	// iat has second precision, so alice's tokens of the second of
	// RevokeSubject count as issued before it: the next one must be later.
	time.Sleep(time.Until(revokedAlice.Truncate(time.Second).Add(time.Second)))
	tok = aliceToken(t, e)
	c = claimsOf(t, e, tok.AccessToken)
	pub.down.Store(true)
	status, body := post(t, e, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "cli", cliSecret)
	if status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
		t.Fatalf("revoke with the publisher down: %d %v", status, body)
	}
	revs, err := e.store.ListRevocations(ctx, time.Now())
	if err != nil || !slices.ContainsFunc(revs, func(r identity.Revocation) bool { return r.Value == c.ID }) {
		t.Fatalf("stored revocations %+v, %v", revs, err)
	}
	if introspect(t, e, tok.AccessToken) {
		t.Fatal("the auth server still calls the token active")
	}
	if listRevokes(t, list, c) {
		t.Fatal("published although the publisher failed")
	}
	if strings.Contains(e.logs.String(), tok.AccessToken) {
		t.Fatal("the token is in the log")
	}
	// RevokeSubject with the publisher down still revokes the refresh
	// tokens, and reports the failure.
	if err := e.srv.RevokeSubject(ctx, e.alice.ID); !errors.Is(err, revocation.ErrUnavailable) {
		t.Fatalf("RevokeSubject with the publisher down = %v", err)
	}
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint()}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("refresh token still works after RevokeSubject")
	}

	// The stored entries are published by the next start of an auth server
	// (durability across a Redis restart).
	pub.down.Store(false)
	fresh := &flaky{list: memoryList(t)}
	startOn(t, e.store, func(cfg *authserver.Config) { cfg.Revocations = fresh })
	if !listRevokes(t, fresh.list, c) {
		t.Fatal("the stored revocation was not published at start")
	}
	if n := len(fresh.list.Entries()); n != 3 {
		t.Fatalf("%d entries published at start, want 3 (2 tokens, alice)", n)
	}
}

// The must-show test: a token revoked at the auth server (this process) is
// refused by a guard in another process, which shares the deny list
// through Redis, within one second.
func TestRevokedTokenRefusedByGuardInAnotherProcess(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	list, err := redislist.New(redistest.Client(t, "authserver"), redislist.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer list.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := list.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *authserver.Config) { c.Revocations = list })

	child := exec.Command(os.Args[0], "-test.run=^TestGuardProcess$", "-test.v")
	child.Env = append(os.Environ(), "GATEHOUSE_GUARD_PROCESS=1", "GATEHOUSE_GUARD_ISSUER="+e.url, "GATEHOUSE_GUARD_PREFIX="+prefix)
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- child.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			child.Process.Kill()
			<-done
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "GUARD LISTENING "); ok {
				addr <- a
			}
		}
	}()
	var guardURL string
	select {
	case a := <-addr:
		guardURL = "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("the guard process did not start within 30s")
	}
	tok := aliceToken(t, e)
	status := func() int {
		req, _ := http.NewRequest(http.MethodGet, guardURL+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusOK {
		t.Fatalf("guard process before the revocation: %d", got)
	}
	start := time.Now()
	if code, _ := post(t, e, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "cli", cliSecret); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	took := redistest.Eventually(t, time.Second, "the guard process refuses the revoked token", func() bool { return status() == http.StatusUnauthorized })
	t.Logf("guard in another process refused the token %s after the revocation request (%s after it answered)", time.Since(start), took)
}

// TestGuardProcess is the other process of
// TestRevokedTokenRefusedByGuardInAnotherProcess: a service behind a guard
// whose verifier checks a Redis deny list. It prints its address and
// serves until its stdin closes.
func TestGuardProcess(t *testing.T) {
	if os.Getenv("GATEHOUSE_GUARD_PROCESS") != "1" {
		t.Skip("helper process of TestRevokedTokenRefusedByGuardInAnotherProcess")
	}
	issuer, prefix := os.Getenv("GATEHOUSE_GUARD_ISSUER"), os.Getenv("GATEHOUSE_GUARD_PREFIX")
	ctx := context.Background()
	list, err := redislist.New(redistest.Client(t, "guard-process"), redislist.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer list.Close()
	src, err := keys.NewRemoteFromIssuer(ctx, issuer)
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(src, issuer, "orders", token.WithRevoker(list))
	if err != nil {
		t.Fatal(err)
	}
	defer revocation.ForgetIn(list, v)()
	g, err := guard.New(v, guard.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := list.WaitSynced(wctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Printf("GUARD LISTENING %s\n", ln.Addr())
	buf := make([]byte, 1)
	os.Stdin.Read(buf) // EOF when the parent closes it
}

// counting fails every Add and counts the calls.
type counting struct{ calls atomic.Int32 }

func (c *counting) Add(context.Context, revocation.Entry) error {
	c.calls.Add(1)
	return revocation.ErrUnavailable
}

// With Redis down at start, the server publishes nothing but does not wait
// for one timeout per stored entry: it stops at the first failure.
func TestStartWithPublisherDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now()
	for i := range 20 {
		if err := e.store.AddRevocation(ctx, identity.Revocation{Kind: identity.RevokeToken, Value: fmt.Sprint("t", i), Until: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	pub := &counting{}
	startOn(t, e.store, func(c *authserver.Config) { c.Revocations = pub })
	if n := pub.calls.Load(); n != 1 {
		t.Fatalf("%d Add calls with the publisher down, want 1", n)
	}
}
