package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"
)

// TestServeAuthServerAdmin: authserver.admin_listen serves the token
// endpoint's counters, the runtime's metrics and the health endpoints.
func TestServeAuthServerAdmin(t *testing.T) {
	dir := t.TempDir()
	admin := freeAddr(t)
	s := startServe(t, dir, func(addr string) string {
		return fmt.Sprintf(`authserver:
  issuer: http://%s
  listen: %s
  admin_listen: %s
  data: %s
  clients:
    - id: svc
      secret: svc-secret-0123456789
      grants: [client_credentials]
      audiences: [orders]
`, addr, addr, admin, filepath.Join(dir, "data"))
	})
	cc := clientcredentials.Config{ClientID: "svc", ClientSecret: "svc-secret-0123456789", TokenURL: s.url + "/oauth2/token"}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	cc.ClientSecret = "not-the-secret-of-svc"
	if _, err := cc.Token(context.Background()); err == nil {
		t.Fatal("a bad secret got a token")
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := get("/metrics")
	for _, want := range []string{
		`gatehouse_authserver_tokens_issued_total{grant="client_credentials"} 1`,
		`gatehouse_authserver_tokens_refused_total{error="invalid_client"} 1`,
		"go_goroutines",
	} {
		if status != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("/metrics: %d, no %q in:\n%.2000s", status, want, body)
		}
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if status, _ := get(p); status != http.StatusOK {
			t.Fatalf("%s: %d", p, status)
		}
	}
	if strings.Contains(body, "svc-secret") {
		t.Fatal("a secret in the metrics")
	}
}
