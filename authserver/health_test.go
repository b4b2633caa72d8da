package authserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
)

// flakyStore is a real store whose chosen methods fail with
// identity.ErrUnavailable, as an engine reports a store that is down.
type flakyStore struct {
	identity.Store
	mu    sync.Mutex
	down  map[string]bool
	calls atomic.Int64 // calls of ListSigningKeys while it is down
}

func (f *flakyStore) fail(method string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down == nil {
		f.down = map[string]bool{}
	}
	f.down[method] = down
}

func (f *flakyStore) isDown(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down[method] {
		return fmt.Errorf("fake: %s: %w: connection refused", method, identity.ErrUnavailable)
	}
	return nil
}

func (f *flakyStore) ListSigningKeys(ctx context.Context) ([]identity.SigningKey, error) {
	if err := f.isDown("ListSigningKeys"); err != nil {
		f.calls.Add(1)
		return nil, err
	}
	return f.Store.ListSigningKeys(ctx)
}

func (f *flakyStore) RefreshTokenByHash(ctx context.Context, hash string) (*identity.RefreshToken, error) {
	if err := f.isDown("RefreshTokenByHash"); err != nil {
		return nil, err
	}
	return f.Store.RefreshTokenByHash(ctx, hash)
}

func (f *flakyStore) UserByID(ctx context.Context, id string) (*identity.User, error) {
	if err := f.isDown("UserByID"); err != nil {
		return nil, err
	}
	return f.Store.UserByID(ctx, id)
}

func (f *flakyStore) UserByUsername(ctx context.Context, username string) (*identity.User, error) {
	if err := f.isDown("UserByUsername"); err != nil {
		return nil, err
	}
	return f.Store.UserByUsername(ctx, username)
}

// testClock is a clock that tests move.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// While the store is down, requests do not each retry the reload: the
// retries back off from one second to the reload interval, each logs one
// line, and the recovery logs one.
func TestReloadBacksOffWhileStoreDown(t *testing.T) {
	clk := &testClock{t: time.Now()}
	fs := &flakyStore{Store: newEnv(t).store}
	e := startOn(t, fs, func(c *authserver.Config) { c.Now = clk.Now; c.KeyReload = 8 * time.Second })
	hit := func(n int) {
		t.Helper()
		for range n {
			resp, err := http.Get(e.url + "/.well-known/openid-configuration")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("discovery: %d", resp.StatusCode)
			}
		}
	}
	count := func(msg string) int { return strings.Count(e.logs.String(), msg) }
	const failed, still, again = "reload of signing keys and revocations failed", "still failing", "works again"

	fs.fail("ListSigningKeys", true)
	clk.Advance(8 * time.Second) // a reload is due
	hit(50)
	if n := fs.calls.Load(); n != 1 {
		t.Fatalf("50 requests tried the reload %d times, want 1", n)
	}
	if count(failed) != 1 || count(still) != 0 {
		t.Fatalf("log after the first failure:\n%s", e.logs.String())
	}
	// Retries after 1s, 2s, 4s, then every 8s (the reload interval).
	for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		clk.Advance(wait - time.Millisecond)
		hit(10)
		if n := fs.calls.Load(); n != int64(i+1) {
			t.Fatalf("a retry %s after the failure before its backoff of %s: %d attempts", wait-time.Millisecond, wait, n)
		}
		clk.Advance(time.Millisecond)
		hit(10)
		if n := fs.calls.Load(); n != int64(i+2) {
			t.Fatalf("no retry after a backoff of %s: %d attempts", wait, n)
		}
		if got := count(still); got != i+1 {
			t.Fatalf("%d 'still failing' lines after %d retries:\n%s", got, i+1, e.logs.String())
		}
	}
	if !strings.Contains(e.logs.String(), `"retry_in":"8s"`) {
		t.Errorf("the backoff does not reach the reload interval:\n%s", e.logs.String())
	}

	fs.fail("ListSigningKeys", false)
	clk.Advance(8 * time.Second)
	hit(5)
	if count(again) != 1 {
		t.Fatalf("no recovery line:\n%s", e.logs.String())
	}
	// A later failure starts a new streak with one second.
	fs.fail("ListSigningKeys", true)
	clk.Advance(8 * time.Second)
	hit(5)
	if count(failed) != 2 || !strings.Contains(e.logs.String(), `"retry_in":"1s"`) {
		t.Errorf("a new failure streak is not logged as one:\n%s", e.logs.String())
	}
	if err := e.srv.CheckStore(context.Background()); !errors.Is(err, identity.ErrUnavailable) {
		t.Errorf("CheckStore with the store down: %v", err)
	}
	fs.fail("ListSigningKeys", false)
	if err := e.srv.CheckStore(context.Background()); err != nil {
		t.Errorf("CheckStore with the store up: %v", err)
	}
}

// tokenError posts a token request and returns its status, error code,
// description and Retry-After.
func tokenError(t *testing.T, e *env, form url.Values) (int, string, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("cli", cliSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error, body.Description, resp.Header.Get("Retry-After")
}

// A store outage answers 503 temporarily_unavailable, never 500 or an
// invalid_grant that would make the client drop its refresh token, and a
// user lookup that could not be made does not revoke the family.
func TestStoreOutageAnswers503(t *testing.T) {
	fs := &flakyStore{Store: newEnv(t).store}
	e := startOn(t, fs)
	ctx := context.Background()
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint(), Scopes: []string{"orders:read"}}
	tok, err := cfg.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	password := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword}}
	for _, tt := range []struct {
		name   string
		method string // the store method that fails
		form   url.Values
	}{
		{"refresh: token lookup", "RefreshTokenByHash", refresh},
		{"refresh: user lookup", "UserByID", refresh},
		{"password: user lookup", "UserByUsername", password},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs.fail(tt.method, true)
			defer fs.fail(tt.method, false)
			status, code, desc, retry := tokenError(t, e, tt.form)
			if status != http.StatusServiceUnavailable || code != "temporarily_unavailable" {
				t.Fatalf("answer %d %s (%s), want 503 temporarily_unavailable", status, code, desc)
			}
			if retry == "" {
				t.Error("no Retry-After")
			}
			if strings.Contains(desc, "fake") || strings.Contains(desc, "connection refused") {
				t.Errorf("the description leaks the cause: %q", desc)
			}
		})
	}
	// The family survived the failed user lookup: the token still refreshes.
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Fatalf("refresh after the outage: %v", err)
	}
}
