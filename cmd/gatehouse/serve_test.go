package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// syncBuffer is an io.Writer that a running server and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr returns a loopback address with a port that was free a moment
// ago; callers retry when another process takes it first.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// served is a 'gatehouse serve' running inside the test process.
type served struct {
	url    string
	stderr *syncBuffer
	stop   func() int // cancels the context and returns the exit code
}

// startServe writes the configuration config(addr) to a file, runs
// 'gatehouse serve --config' on it in a goroutine and waits until the
// discovery document answers. A port taken in between is retried.
func startServe(t *testing.T, dir string, config func(addr string) string) *served {
	t.Helper()
	file := filepath.Join(dir, "gatehouse.yaml")
	for attempt := 0; attempt < 5; attempt++ {
		addr := freeAddr(t)
		if err := os.WriteFile(file, []byte(config(addr)), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		stderr := &syncBuffer{}
		done := make(chan int, 1)
		go func() {
			done <- runContext(ctx, []string{"serve", "--config", file}, strings.NewReader(""), &syncBuffer{}, stderr)
		}()
		s := &served{url: "http://" + addr, stderr: stderr}
		var once sync.Once
		code := -1
		s.stop = func() int {
			once.Do(func() {
				cancel()
				select {
				case code = <-done:
				case <-time.After(15 * time.Second):
					t.Errorf("gatehouse serve did not stop within 15s of its context's end")
				}
			})
			return code
		}
		if waitReady(s.url, done, &code) {
			t.Cleanup(func() { s.stop() })
			return s
		}
		cancel()
		if code == exitUsage && strings.Contains(stderr.String(), "already in use") {
			continue
		}
		t.Fatalf("gatehouse serve exited %d before answering; stderr:\n%s", code, stderr)
	}
	t.Fatal("no free port after 5 attempts")
	return nil
}

// waitReady polls the discovery document for up to 30s; it reports false
// when the server exited first (its code is then stored in code).
func waitReady(url string, done <-chan int, code *int) bool {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case *code = <-done:
			return false
		default:
		}
		if resp, err := hc.Get(url + "/.well-known/openid-configuration"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

const (
	e2eSecret   = "svc-secret-0123456789abcdef"
	e2ePassword = "alice-password-42"
)

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	pwFile := filepath.Join(dir, "alice.password")
	if err := os.WriteFile(pwFile, []byte(e2ePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GH_TEST_SVC_SECRET", e2eSecret)
	var issuer string
	config := func(addr string) string {
		if issuer == "" {
			issuer = "http://" + addr // kept across restarts: tokens name it
		}
		return fmt.Sprintf(`authserver:
  issuer: %s
  listen: %s
  data: %s
  access_token_ttl: 5m
  organizations:
    - id: acme
  clients:
    - id: svc-accounts
      secret_env: GH_TEST_SVC_SECRET
      grants: [client_credentials]
      scopes: [accounts:read]
      audiences: [accounts]
    - id: cli
      secret: cli-secret-0123456789
      grants: [password, refresh_token]
      scopes: [openid, orders:read]
      audiences: [orders]
  users:
    - username: alice
      email: alice@acme.test
      password_file: %s
      org: acme
      roles: [admin]
`, issuer, addr, data, pwFile)
	}
	s := startServe(t, dir, config)
	if !strings.Contains(s.stderr.String(), "gatehouse: auth server listening on "+s.url+" (issuer "+issuer+")\n") {
		t.Errorf("no ready line in stderr:\n%s", s.stderr)
	}
	ctx := context.Background()
	cc := clientcredentials.Config{ClientID: "svc-accounts", ClientSecret: e2eSecret, TokenURL: s.url + "/oauth2/token", Scopes: []string{"accounts:read"}}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	src, err := keys.NewRemoteFromIssuer(ctx, s.url)
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(src, issuer, "accounts")
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientID != "svc-accounts" || c.Scope != "accounts:read" {
		t.Errorf("claims %+v", c)
	}

	// The user of the file logs in with the password from its file.
	pc := oauth2.Config{ClientID: "cli", ClientSecret: "cli-secret-0123456789", Endpoint: oauth2.Endpoint{TokenURL: s.url + "/oauth2/token"}}
	ut, err := pc.PasswordCredentialsToken(ctx, "alice", e2ePassword)
	if err != nil {
		t.Fatal(err)
	}
	if ut.RefreshToken == "" {
		t.Error("no refresh token for a client with the refresh_token grant")
	}

	if code := s.stop(); code != exitOK {
		t.Fatalf("serve exited %d after its context ended; stderr:\n%s", code, s.stderr)
	}
	logs := s.stderr.String()
	for _, secret := range []string{e2eSecret, e2ePassword, "cli-secret-0123456789", tok.AccessToken, ut.AccessToken, ut.RefreshToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("stderr holds a secret or token:\n%s", logs)
		}
	}
	if !strings.Contains(logs, `"msg":"shutting down"`) {
		t.Errorf("no shutdown log:\n%s", logs)
	}

	// Disabled while the server is down, alice stays disabled across the
	// restart, keeps her ID (her sub), and her tokens stay revoked.
	id := tableRow(mustGH(t, "", "user", "list", "--data", data), "alice")[1]
	mustGH(t, "", "user", "disable", "alice", "--config", filepath.Join(dir, "gatehouse.yaml"))
	s2 := startServe(t, dir, config)
	for _, tt := range []struct{ tok, hint string }{{ut.AccessToken, "access_token"}, {ut.RefreshToken, "refresh_token"}} {
		status, m, err := post(&http.Client{Timeout: 10 * time.Second}, s2.url+"/oauth2/introspect", url.Values{"token": {tt.tok}, "token_type_hint": {tt.hint}}, "svc-accounts", e2eSecret)
		if err != nil || status != http.StatusOK || m["active"] != false {
			t.Errorf("introspection of alice's %s after disable and restart: %d %v %v", tt.hint, status, m, err)
		}
	}
	if _, err := pc.PasswordCredentialsToken(ctx, "alice", e2ePassword); err == nil {
		t.Error("alice logged in after disable and restart")
	}
	if code := s2.stop(); code != exitOK {
		t.Fatalf("second serve exited %d", code)
	}
	row := tableRow(mustGH(t, "", "user", "list", "--config", filepath.Join(dir, "gatehouse.yaml")), "alice")
	if row[1] != id || row[len(row)-1] != "yes" {
		t.Errorf("after the restart alice is %q; want ID %s and disabled", row, id)
	}
}

func TestServeRefusals(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := filepath.Join(dir, "data")
	bad := write("bad.yaml", "authserver:\n  issuer: http://127.0.0.1:9000\n  listen: 127.0.0.1:0\n  isuer: typo\n")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown key", []string{"serve", "--config", bad}, bad + `:4: authserver.isuer: unknown key (did you mean "issuer"?); valid keys: access_token_ttl,`},
		{"duration without unit", []string{"serve", "--config", write("ttl.yaml", "authserver:\n  issuer: http://127.0.0.1:9000\n  access_token_ttl: 30\n")}, "ttl.yaml:3: authserver.access_token_ttl: 30 is not a duration: write 30s"},
		{"empty gateway", []string{"serve", "--config", write("gw.yaml", "gateway: {}\n")}, "gw.yaml:1: gateway.routes: at least one route is required"},
		{"missing file", []string{"serve", "--config", filepath.Join(dir, "nope.yaml")}, "cannot read the configuration"},
		{"unset secret env", []string{"serve", "--config", write("env.yaml", "authserver:\n  issuer: http://127.0.0.1:9000\n  data: "+data+"\n  clients:\n    - id: svc\n      secret_env: GH_TEST_UNSET_SECRET\n      grants: [client_credentials]\n")},
			"env.yaml:5: authserver.clients[0]: client \"svc\": secret_env: environment variable GH_TEST_UNSET_SECRET is not set"},
		{"short secret", []string{"serve", "--config", write("short.yaml", "authserver:\n  issuer: http://127.0.0.1:9000\n  data: "+data+"\n  clients:\n    - id: svc\n      secret: short\n      grants: [client_credentials]\n")},
			"short.yaml:5: authserver.clients[0]: client \"svc\": client secret shorter than 16 bytes"},
		{"HS256", []string{"serve", "--config", write("hs.yaml", "authserver:\n  issuer: http://127.0.0.1:9000\n  signing_alg: HS256\n")}, "hs.yaml:3: authserver.signing_alg: \"HS256\": use ES256 (the default), EdDSA, RS256 or PS256"},
		{"port in use", []string{"serve", "--config", write("busy.yaml", "authserver:\n  issuer: http://127.0.0.1:9000\n  data: "+data+"\n  listen: "+busy.Addr().String()+"\n")},
			"busy.yaml:4: authserver.listen: cannot listen on " + busy.Addr().String() + ": the address is already in use; stop the other process or set authserver.listen to another address"},
		{"auth admin port in use", []string{"serve", "--config", write("busyadmin.yaml", "authserver:\n  issuer: http://127.0.0.1:9000\n  data: "+data+"\n  listen: 127.0.0.1:0\n  admin_listen: "+busy.Addr().String()+"\n")},
			"busyadmin.yaml:5: authserver.admin_listen: cannot listen on " + busy.Addr().String() + ": the address is already in use; stop the other process or set authserver.admin_listen to another address"},
		{"gateway port in use", []string{"serve", "--config", write("busygw.yaml", "authserver:\n  issuer: http://127.0.0.1:9000\n  data: "+data+"\n  listen: 127.0.0.1:0\ngateway:\n  listen: "+busy.Addr().String()+"\n  admin_listen: \"-\"\n  routes: [{name: r, path: /, upstreams: [\"http://127.0.0.1:1\"], auth: none}]\n")},
			"busygw.yaml:6: gateway.listen: cannot listen on " + busy.Addr().String() + ": the address is already in use; stop the other process or set gateway.listen to another address"},
		{"gateway admin port in use", []string{"serve", "--config", write("busygwadmin.yaml", "gateway:\n  listen: 127.0.0.1:0\n  admin_listen: "+busy.Addr().String()+"\n  routes: [{name: r, path: /, upstreams: [\"http://127.0.0.1:1\"], auth: none}]\n")},
			"busygwadmin.yaml:3: gateway.admin_listen: cannot listen on " + busy.Addr().String() + ": the address is already in use; stop the other process or set gateway.admin_listen to another address"},
		{"argument", []string{"serve", "extra"}, "takes no arguments"},
		{"unknown flag", []string{"serve", "--port", "9000"}, "unknown flag: --port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := gh(t, "", tt.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			assertOneLine(t, r.stderr)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.want)
			}
		})
	}
	// Every start above failed before the store was created: nothing is
	// created or seeded before every listener is bound.
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("a failed start created the store folder %s (%v)", data, err)
	}
}

// TestServeReloadAuthServerOnly: a process without a gateway applies
// nothing at reload, and says that a changed authserver section needs a
// restart; SIGHUP reports the same and does not end the process.
func TestServeReloadAuthServerOnly(t *testing.T) {
	dir := t.TempDir()
	conf := func(addr string) string {
		return "authserver:\n  issuer: http://" + addr + "\n  listen: " + addr + "\n  data: " + filepath.Join(dir, "data") + "\n"
	}
	var listen string
	s := startServe(t, dir, func(addr string) string { listen = addr; return conf(addr) })
	file := filepath.Join(dir, "gatehouse.yaml")
	wait := func(what, want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.stderr.String(), want); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %s in the log:\n%s", what, want, s.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err := os.WriteFile(file, []byte(conf(listen)+"  access_token_ttl: 5m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bump(t, file, 1)
	wait("a changed authserver section", `"applied":null,"needs_restart":["authserver"]`)
	if !strings.Contains(s.stderr.String(), `apply only at the next start of 'gatehouse serve'","sections":["authserver"]`) {
		t.Errorf("no warning that authserver needs a restart:\n%s", s.stderr)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wait("SIGHUP", `"trigger":"SIGHUP"`)
	if code := s.stop(); code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, s.stderr)
	}
}
