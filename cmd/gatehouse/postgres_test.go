package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/internal/pgtest"
)

// TestPostgresStore runs the admin commands and the server on a
// PostgreSQL store.
func TestPostgresStore(t *testing.T) {
	store := pgtest.SchemaURL(t)
	mustGH(t, "pw-0123456789\n", "user", "add", "alice", "--email", "alice@acme.test", "--password-stdin", "--store", store)
	out := mustGH(t, "", "client", "add", "svc-accounts", "--grants", "client_credentials", "--audiences", "accounts", "--store", store)
	m := regexp.MustCompile(`(?m)^client_secret: (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("client add printed %q", out)
	}
	if row := tableRow(mustGH(t, "", "user", "list", "--store", store), "alice"); len(row) != 7 {
		t.Errorf("user list row %q", row)
	}
	mustGH(t, "", "keys", "rotate", "--store", store)
	mustGH(t, "", "user", "disable", "alice", "--store", store)
	if r := gh(t, "", "user", "add", "alice", "--email", "a@b.test", "--store", store); r.code != exitUsage || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("duplicate user: exit %d, stderr %q", r.code, r.stderr)
	}

	dir := t.TempDir()
	s := startServe(t, dir, func(addr string) string {
		return fmt.Sprintf("authserver:\n  issuer: http://%s\n  listen: %s\n  store: %s\n", addr, addr, store)
	})
	cc := clientcredentials.Config{ClientID: "svc-accounts", ClientSecret: m[1], TokenURL: s.url + "/oauth2/token"}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code := s.stop(); code != exitOK {
		t.Fatalf("serve exited %d; stderr:\n%s", code, s.stderr)
	}
}
