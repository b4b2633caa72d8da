package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	crashCLISecret = "cli-secret-0123456789abcdef"
	crashRSSecret  = "rs-secret-0123456789abcdef"
	crashPassword  = "alice-crash-password"
	crashWorkers   = 8
	crashKillAfter = 100 // successes before the revocations and the kill
)

// child is a 'gatehouse serve' child process.
type child struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan struct{}
}

// startChild runs bin serve --config (and the flags extra) on the
// configuration config(addr) and waits until it answers; a port taken in
// between is retried.
func startChild(t *testing.T, bin, dir string, config func(addr string) string, extra ...string) *child {
	t.Helper()
	file := filepath.Join(dir, "gatehouse.yaml")
	for attempt := 0; attempt < 5; attempt++ {
		addr := freeAddr(t)
		if err := os.WriteFile(file, []byte(config(addr)), 0o600); err != nil {
			t.Fatal(err)
		}
		c := &child{cmd: exec.Command(bin, append([]string{"serve", "--config", file}, extra...)...), url: "http://" + addr, stderr: &syncBuffer{}, exited: make(chan struct{})}
		c.cmd.Stderr = c.stderr
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { c.cmd.Wait(); close(c.exited) }()
		t.Cleanup(func() { c.cmd.Process.Kill(); <-c.exited })
		code := 0
		done := make(chan int, 1)
		go func() { <-c.exited; done <- c.cmd.ProcessState.ExitCode() }()
		if waitReady(c.url, done, &code) {
			return c
		}
		if strings.Contains(c.stderr.String(), "already in use") {
			continue
		}
		t.Fatalf("gatehouse serve exited %d before answering; stderr:\n%s", code, c.stderr)
	}
	t.Fatal("no free port after 5 attempts")
	return nil
}

// post sends a form to the server with Basic client authentication and
// decodes the JSON answer, if any.
func post(hc *http.Client, endpoint string, form url.Values, id, secret string) (int, map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var m map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("answer is not JSON: %w", err)
		}
	}
	return resp.StatusCode, m, nil
}

// TestCrashKeepsIssuedAndRevoked kills the server with SIGKILL in the
// middle of a burst of password grants and checks, after a restart on the
// same data folder, that every refresh token a client received is still
// active and that what was revoked just before the kill is still revoked.
func TestCrashKeepsIssuedAndRevoked(t *testing.T) {
	bin := buildBinary(t) // skips under -short
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	issuer := ""
	config := func(addr string) string {
		if issuer == "" {
			issuer = "http://" + addr // the same issuer after the restart, whatever the port
		}
		return fmt.Sprintf(`authserver:
  issuer: %s
  listen: %s
  data: %s
  clients:
    - id: cli
      secret: %s
      grants: [password, refresh_token]
      scopes: [orders:read]
      audiences: [orders]
    - id: rs
      secret: %s
      grants: [client_credentials]
      introspection: true
  users:
    - username: alice
      email: alice@acme.test
      password: %s
`, issuer, addr, data, crashCLISecret, crashRSSecret, crashPassword)
	}
	srv := startChild(t, bin, dir, config)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: crashWorkers}}

	type issued struct{ access, refresh string }
	var (
		mu       sync.Mutex
		got      []issued
		ok, errs atomic.Int64
		stop     = make(chan struct{})
		reached  = make(chan struct{})
		once     sync.Once
		wg       sync.WaitGroup
	)
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {crashPassword}, "scope": {"orders:read"}}
	for range crashWorkers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, m, err := post(hc, srv.url+"/oauth2/token", form, "cli", crashCLISecret)
				if err != nil || status != http.StatusOK {
					errs.Add(1)
					continue
				}
				rt, _ := m["refresh_token"].(string)
				at, _ := m["access_token"].(string)
				if rt == "" || at == "" {
					t.Errorf("200 without tokens: %v", m)
					continue
				}
				mu.Lock()
				got = append(got, issued{access: at, refresh: rt})
				mu.Unlock()
				if ok.Add(1) >= crashKillAfter {
					once.Do(func() { close(reached) })
				}
			}
		})
	}
	select {
	case <-reached:
	case <-time.After(2 * time.Minute):
		close(stop)
		wg.Wait()
		t.Fatalf("only %d successes (%d errors) in 2 minutes; stderr:\n%s", ok.Load(), errs.Load(), srv.stderr)
	}

	// Revoke one access token and another login's refresh token while the
	// burst goes on, then kill the server at once.
	okAtRevoke := ok.Load()
	mu.Lock()
	revokedAccess, revokedRefresh, keptAccess := got[0].access, got[1].refresh, got[2].access
	mu.Unlock()
	for _, tok := range []string{revokedAccess, revokedRefresh} {
		if status, _, err := post(hc, srv.url+"/oauth2/revoke", url.Values{"token": {tok}}, "cli", crashCLISecret); err != nil || status != http.StatusOK {
			t.Fatalf("revoke: status %d, %v", status, err)
		}
	}
	okAtKill := ok.Load()
	if err := srv.cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, no flush
		t.Fatal(err)
	}
	close(stop)
	<-srv.exited
	wg.Wait()
	if st := srv.cmd.ProcessState; st.Exited() {
		t.Fatalf("the server exited by itself (%v) instead of being killed", st)
	}

	srv2 := startChild(t, bin, dir, config)
	introspect := func(tok, hint string) bool {
		t.Helper()
		status, m, err := post(hc, srv2.url+"/oauth2/introspect", url.Values{"token": {tok}, "token_type_hint": {hint}}, "rs", crashRSSecret)
		if err != nil || status != http.StatusOK {
			t.Fatalf("introspect: status %d, %v", status, err)
		}
		active, _ := m["active"].(bool)
		return active
	}
	mu.Lock()
	defer mu.Unlock()
	active := 0
	for _, is := range got {
		if is.refresh == revokedRefresh {
			continue
		}
		if introspect(is.refresh, "refresh_token") {
			active++
		} else {
			t.Errorf("a refresh token received with 200 before the kill is not active after the restart")
		}
	}
	if introspect(revokedRefresh, "refresh_token") {
		t.Error("the refresh token revoked before the kill is active again after the restart")
	}
	if introspect(revokedAccess, "access_token") {
		t.Error("the access token revoked before the kill is active again after the restart")
	}
	if !introspect(keptAccess, "access_token") {
		t.Error("an access token that was not revoked is inactive after the restart")
	}
	t.Logf("%d workers; %d password grants succeeded when the revocations were sent, %d when SIGKILL was sent, %d in all (%d requests in flight at the kill or sent after it failed); after the restart %d/%d refresh tokens active, the revoked refresh and access tokens inactive",
		crashWorkers, okAtRevoke, okAtKill, len(got), errs.Load(), active, len(got)-1)
}
