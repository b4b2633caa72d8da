package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/pgtest"
	"github.com/gatehousehq/gatehouse/internal/problem"
)

// TestServeAuthServerReadyzChecksStore: the auth server's /readyz
// (authserver.admin_listen) is ready while its PostgreSQL answers, a 503
// problem with the reason while it is stopped, and ready again when it is
// back. The server is one of the test's own (pgtest.NewServer).
func TestServeAuthServerReadyzChecksStore(t *testing.T) {
	pg := pgtest.NewServer(t)
	dir := t.TempDir()
	admin := freeAddr(t)
	startServe(t, dir, func(addr string) string {
		return fmt.Sprintf("authserver:\n  issuer: http://%s\n  listen: %s\n  admin_listen: %s\n  store: %s\n", addr, addr, admin, pg.URL())
	})
	readyz := func() (int, string, string) {
		t.Helper()
		resp, err := http.Get("http://" + admin + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz with the store up: %d %s", code, body)
	}

	pg.Stop(t)
	code, ct, body := readyz()
	if code != http.StatusServiceUnavailable || ct != problem.ContentType {
		t.Fatalf("/readyz with the store stopped: %d %s %s, want a 503 problem", code, ct, body)
	}
	var p struct{ Type, Detail string }
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != problem.TypeUnavailable || !strings.Contains(p.Detail, "not ready: authserver: the store does not answer") ||
		!strings.Contains(p.Detail, "store unavailable") {
		t.Errorf("/readyz problem: %+v, want the reason", p)
	}
	if healthz, err := http.Get("http://" + admin + "/healthz"); err != nil || healthz.StatusCode != http.StatusOK {
		t.Errorf("/healthz with the store stopped: %v %v (the process is up)", healthz, err)
	} else {
		healthz.Body.Close()
	}

	pg.Start(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, _, body := readyz()
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after the store came back: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
