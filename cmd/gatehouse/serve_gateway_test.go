package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// TestServeGateway runs 'gatehouse serve' on a file with only a gateway
// section, proxies through it, reads its metrics, and reloads it when the
// file changes; a broken file is refused and the running routes stay.
func TestServeGateway(t *testing.T) {
	up := func(name string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s", name, r.URL.Path)
		}))
		t.Cleanup(s.Close)
		return s.URL
	}
	one, two := up("one"), up("two")
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.yaml")
	listen, admin := freeAddr(t), freeAddr(t)
	conf := func(upstream string) string {
		return fmt.Sprintf(`gateway:
  listen: %s
  admin_listen: %s
  routes:
    - name: svc
      path: /svc
      upstreams: [%s]
      auth: none
`, listen, admin, upstream)
	}
	if err := os.WriteFile(file, []byte(conf(one)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"serve", "--config", file}, strings.NewReader(""), &syncBuffer{}, stderr)
	}()
	get := func(url string) (int, string) {
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Get(url)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor := func(what string, within time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !cond() {
			select {
			case code := <-done:
				t.Fatalf("serve exited %d; stderr:\n%s", code, stderr)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s; stderr:\n%s", what, within, stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("the gateway answers", 20*time.Second, func() bool {
		_, body := get("http://" + listen + "/svc/a")
		return body == "one /svc/a"
	})
	if code, body := get("http://" + admin + "/metrics"); code != 200 || !strings.Contains(body, `gatehouse_gateway_requests_total{code="200",route="svc"}`) {
		t.Fatalf("metrics: %d\n%s", code, body)
	}
	if code, _ := get("http://" + admin + "/readyz"); code != 200 {
		t.Fatalf("readyz %d", code)
	}

	// A changed file is picked up (mtime, polled every 2s).
	time.Sleep(10 * time.Millisecond)
	if err := os.WriteFile(file, []byte(conf(two)), 0o600); err != nil {
		t.Fatal(err)
	}
	bump(t, file, 1)
	waitFor("the reload", 10*time.Second, func() bool {
		_, body := get("http://" + listen + "/svc/b")
		return body == "two /svc/b"
	})

	// A broken file is refused with its reason; the routes stay.
	if err := os.WriteFile(file, []byte(strings.Replace(conf(one), "auth: none", "auth: maybe", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	bump(t, file, 2)
	waitFor("the refusal", 10*time.Second, func() bool {
		return strings.Contains(stderr.String(), "configuration reload refused")
	})
	if !strings.Contains(stderr.String(), `routes[0].auth: \"maybe\": use none or jwt`) {
		t.Errorf("the refusal does not say why:\n%s", stderr)
	}
	if _, body := get("http://" + listen + "/svc/c"); body != "two /svc/c" {
		t.Fatalf("after a refused reload: %q", body)
	}

	// SIGHUP reloads at once, also when the mtime says nothing changed.
	seen := modTime(file)
	if err := os.WriteFile(file, []byte(conf(one)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(file, seen, seen); err != nil { // the mtime the poller has seen
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("the SIGHUP reload", 10*time.Second, func() bool {
		_, body := get("http://" + listen + "/svc/d")
		return body == "one /svc/d"
	})
	if !strings.Contains(stderr.String(), `"trigger":"SIGHUP"`) {
		t.Errorf("the reload does not name SIGHUP:\n%s", stderr)
	}
	if !strings.Contains(stderr.String(), `"applied":["gateway"],"needs_restart":null`) {
		t.Errorf("the reload does not say which sections it applied:\n%s", stderr)
	}

	// A section the running process cannot apply is named as such.
	if err := os.WriteFile(file, []byte(conf(two)+"authserver:\n  issuer: http://127.0.0.1:9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bump(t, file, 3)
	waitFor("the report of a section that needs a restart", 10*time.Second, func() bool {
		return strings.Contains(stderr.String(), `"applied":["gateway"],"needs_restart":["authserver"]`)
	})
	if _, body := get("http://" + listen + "/svc/e"); body != "two /svc/e" {
		t.Fatalf("the gateway section of that reload was not applied: %q", body)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestServeAuthServerAndGateway runs both sections in one process: the
// gateway trusts the auth server next to it (discovery at start), and a
// client credentials token from it passes the gateway's JWT check.
func TestServeAuthServerAndGateway(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "sub=%s client=%s", r.Header.Get("X-Gatehouse-Subject"), r.Header.Get("X-Gatehouse-Client"))
	}))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	gwAddr, adminAddr := freeAddr(t), freeAddr(t)
	const secret = "svc-secret-0123456789abcdef"
	s := startServe(t, dir, func(addr string) string {
		return fmt.Sprintf(`authserver:
  issuer: http://%[1]s
  listen: %[1]s
  data: %[2]s
  clients:
    - id: svc-reports
      secret: %[3]s
      grants: [client_credentials]
      scopes: [reports:read]
      audiences: [gateway]
gateway:
  listen: %[4]s
  admin_listen: %[5]s
  issuers:
    - name: local
      issuer: http://%[1]s
      audiences: [gateway]
  routes:
    - name: reports
      path: /reports
      upstreams: [%[6]s]
      auth: jwt
      rules: {scopes: ["reports:read"]}
      forward_claims: {X-Gatehouse-Subject: sub, X-Gatehouse-Client: client_id}
`, addr, filepath.Join(dir, "data"), secret, gwAddr, adminAddr, upstream.URL)
	})
	s.waitGateway(t, gwAddr) // the auth server answers first; the gateway starts after it
	cc := clientcredentials.Config{ClientID: "svc-reports", ClientSecret: secret, TokenURL: s.url + "/oauth2/token", Scopes: []string{"reports:read"}}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+gwAddr+"/reports/1", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "sub=svc-reports client=svc-reports" {
		t.Fatalf("through the gateway: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + gwAddr + "/reports/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer realm=") {
		t.Fatalf("without a token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, s.stderr)
	}
}

// bump moves the file's mtime forward, so that the poller sees a change
// even on file systems with coarse timestamps.
func bump(t *testing.T, file string, n int) {
	t.Helper()
	m := time.Now().Add(time.Duration(n) * time.Minute)
	if err := os.Chtimes(file, m, m); err != nil {
		t.Fatal(err)
	}
}

// waitGateway waits (10s at most) for the line of a gateway listening on
// addr, which serve prints after the auth server's.
func (s *served) waitGateway(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.stderr.String(), "gatehouse: gateway listening on http://"+addr); {
		if time.Now().After(deadline) {
			t.Fatalf("no gateway ready line:\n%s", s.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
