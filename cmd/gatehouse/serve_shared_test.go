package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/pgtest"
	"github.com/gatehousehq/gatehouse/internal/redistest"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// Two auth server processes ('gatehouse serve' twice) on one PostgreSQL
// store and one Redis: a token revoked at one is inactive at the other
// within a second (not at its 30s reload), and a user disabled by the CLI
// with --redis cannot log in at either at once (the identity cache is
// invalidated).
func TestServeSharesStateThroughRedis(t *testing.T) {
	store := pgtest.SchemaURL(t)
	rurl := revokeRedisURL(t)
	listenList(t, rurl) // cleans the deny list of database 9 afterwards
	// Names of their own: cache keys of database 9 outlive a run.
	suffix := strings.ToLower(rand.Text()[:8])
	user, clientID := "alice-"+suffix, "cli-"+suffix
	const password = "alice-password-42"
	mustGH(t, password+"\n", "user", "add", user, "--email", "alice@acme.test", "--password-stdin", "--store", store)
	out := mustGH(t, "", "client", "add", clientID, "--grants", "password,refresh_token", "--audiences", "orders", "--store", store)
	m := regexp.MustCompile(`(?m)^client_secret: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client add printed %q", out)
	}
	secret := m[1]
	// One issuer (in production, the load balancer's URL), two listeners.
	a := startServe(t, t.TempDir(), func(addr string) string {
		return fmt.Sprintf("authserver:\n  issuer: http://%s\n  listen: %s\n  store: %s\n  redis: %s\n", addr, addr, store, rurl)
	})
	b := startServe(t, t.TempDir(), func(addr string) string {
		return fmt.Sprintf("authserver:\n  issuer: %s\n  listen: %s\n  store: %s\n  redis: %s\n", a.url, addr, store, rurl)
	})

	ctx := context.Background()
	login := func(s *served) (*oauth2.Token, error) {
		cfg := oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: s.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
		return cfg.PasswordCredentialsToken(ctx, user, password)
	}
	form := func(s *served, path, tok string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	active := func(s *served, tok string) bool {
		resp := form(s, "/oauth2/introspect", tok)
		defer resp.Body.Close()
		var out struct {
			Active bool `json:"active"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			t.Fatalf("introspect: %d %v", resp.StatusCode, err)
		}
		return out.Active
	}

	tok, err := login(a)
	if err != nil {
		t.Fatal(err)
	}
	if !active(b, tok.AccessToken) {
		t.Fatal("b: a fresh token of a is inactive")
	}
	resp := form(a, "/oauth2/revoke", tok.AccessToken)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke at a: %d", resp.StatusCode)
	}
	took := redistest.Eventually(t, time.Second, "b calls the token revoked at a inactive", func() bool { return !active(b, tok.AccessToken) })
	t.Logf("b saw a's revocation after %s", took)

	// Both instances have the user cached now.
	for _, s := range []*served{a, b} {
		if _, err := login(s); err != nil {
			t.Fatalf("login: %v", err)
		}
	}
	mustGH(t, "", "user", "disable", user, "--store", store, "--redis", rurl)
	for name, s := range map[string]*served{"a": a, "b": b} {
		redistest.Eventually(t, time.Second, name+" refuses the disabled user", func() bool {
			_, err := login(s)
			return err != nil
		})
	}
	for _, s := range []*served{a, b} {
		if strings.Contains(s.stderr.String(), secret) || strings.Contains(s.stderr.String(), password) {
			t.Fatal("a secret is in the log")
		}
	}
}

// A gateway process whose rate limits are on Redis checks the deny list on
// the same Redis: a token revoked at the auth server (another process) is
// refused by the gateway within a second.
func TestServeGatewayRefusesTokenRevokedAtAuthServer(t *testing.T) {
	rurl := revokeRedisURL(t)
	listenList(t, rurl)
	data := filepath.Join(t.TempDir(), "data")
	suffix := strings.ToLower(rand.Text()[:8])
	user, clientID := "gwuser-"+suffix, "gwcli-"+suffix
	const password = "alice-password-42"
	mustGH(t, password+"\n", "user", "add", user, "--email", "alice@acme.test", "--password-stdin", "--data", data)
	out := mustGH(t, "", "client", "add", clientID, "--grants", "password", "--audiences", "orders", "--data", data)
	m := regexp.MustCompile(`(?m)^client_secret: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client add printed %q", out)
	}
	secret := m[1]
	auth := startServe(t, t.TempDir(), func(addr string) string {
		return fmt.Sprintf("authserver:\n  issuer: http://%s\n  listen: %s\n  data: %s\n  redis: %s\n", addr, addr, data, rurl)
	})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer upstream.Close()
	gwAddr := freeAddr(t)
	runServe(t, fmt.Sprintf(`gateway:
  listen: %s
  admin_listen: "-"
  ratelimit: {backend: redis, redis_url: "%s"}
  issuers:
    - {name: main, issuer: %s, audiences: [orders]}
  routes:
    - {name: orders, path: /orders, upstreams: [%s], auth: jwt, issuers: [main]}
`, gwAddr, rurl, auth.url, upstream.URL))

	cfg := oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: oauth2.Endpoint{TokenURL: auth.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}}
	tok, err := cfg.PasswordCredentialsToken(context.Background(), user, password)
	if err != nil {
		t.Fatal(err)
	}
	status := func() int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+gwAddr+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	redistest.Eventually(t, 10*time.Second, "the gateway serves the token", func() bool { return status() == http.StatusOK })
	req, _ := http.NewRequest(http.MethodPost, auth.url+"/oauth2/revoke", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	took := redistest.Eventually(t, time.Second, "the gateway refuses the revoked token", func() bool { return status() == http.StatusUnauthorized })
	t.Logf("gateway refused the token %s after the revocation", took)
}

// runServe runs 'gatehouse serve' on config until the test ends.
func runServe(t *testing.T, config string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	stderr := &syncBuffer{}
	go func() {
		done <- runContext(ctx, []string{"serve", "--config", file}, strings.NewReader(""), &syncBuffer{}, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("gatehouse serve did not stop within 15s")
		}
		if t.Failed() {
			t.Logf("serve stderr:\n%s", stderr)
		}
	})
}

func TestSharedStateMetrics(t *testing.T) {
	rurl := revokeRedisURL(t)
	for _, u := range []string{"", rurl} {
		s, err := openShared(context.Background(), u, sharedOptions{wait: 5 * time.Second}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.wrapStore(openTestStoreAt(t)); err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewRegistry()
		if err := s.register(reg); err != nil {
			t.Fatal(err)
		}
		if err := s.revocations.Add(context.Background(), revocation.ByToken("metrics-"+rand.Text()[:8], time.Now().Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, mf := range mfs {
			m := mf.GetMetric()[0]
			if m.GetGauge() != nil {
				got[mf.GetName()] = m.GetGauge().GetValue()
			} else {
				got[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
		if got["gatehouse_revocation_entries"] < 1 || got["gatehouse_revocation_synced"] != 1 || len(got) != 15 {
			t.Errorf("redis %q: metrics %v", u, got)
		}
		if err := s.register(reg); err == nil {
			t.Error("registering twice: no error")
		}
		s.close()
	}
}

// The gateway's revocation policy when its Redis connection is cut
// (ratelimit.on_revocation_unavailable): closed answers 503, open lets
// the token through; both serve again when the connection comes back.
func TestServeGatewayRevocationPolicy(t *testing.T) {
	for _, mode := range []string{"closed", "open"} {
		t.Run(mode, func(t *testing.T) {
			iss := tokentest.NewIssuer(t, tokentest.WithAudience("orders"))
			proxy := redistest.NewProxy(t)
			u, err := url.Parse(revokeRedisURL(t))
			if err != nil {
				t.Fatal(err)
			}
			u.Host = proxy.Addr()
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
			defer upstream.Close()
			gwAddr := freeAddr(t)
			runServe(t, fmt.Sprintf(`gateway:
  listen: %s
  admin_listen: "-"
  ratelimit: {backend: redis, redis_url: "%s", on_revocation_unavailable: %s}
  issuers:
    - {name: main, issuer: %s, audiences: [orders]}
  routes:
    - {name: orders, path: /orders, upstreams: [%s], auth: jwt, issuers: [main]}
`, gwAddr, u.String(), mode, iss.URL, upstream.URL))
			raw := iss.Token(token.Claims{Subject: "alice"})
			status := func() int {
				req, _ := http.NewRequest(http.MethodGet, "http://"+gwAddr+"/orders", nil)
				req.Header.Set("Authorization", "Bearer "+raw)
				start := time.Now()
				resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
				if err != nil {
					return 0
				}
				resp.Body.Close()
				if d := time.Since(start); d > 5*time.Second {
					t.Fatalf("a request took %s", d)
				}
				return resp.StatusCode
			}
			redistest.Eventually(t, 10*time.Second, "the gateway serves", func() bool { return status() == http.StatusOK })
			proxy.Cut()
			want := http.StatusServiceUnavailable
			if mode == "open" {
				want = http.StatusOK
			}
			// The loss is seen within two health-check intervals (1s each).
			time.Sleep(100 * time.Millisecond)
			redistest.Eventually(t, 5*time.Second, "the policy applies", func() bool { return status() == want })
			for range 3 {
				if got := status(); got != want {
					t.Fatalf("Redis cut, %s: answered %d, want %d", mode, got, want)
				}
			}
			proxy.Restore()
			redistest.Eventually(t, 10*time.Second, "the gateway serves again", func() bool { return status() == http.StatusOK })
		})
	}
}

// openTestStoreAt opens an empty SQLite store for the test.
func openTestStoreAt(t *testing.T) identity.Store {
	t.Helper()
	st, err := openStore(context.Background(), storeLocation{dir: t.TempDir()}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
