package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2/clientcredentials"
)

// postgresURL returns GATEHOUSE_TEST_POSTGRES with the search_path of a
// fresh schema, dropped when the test ends; without the variable the test
// is skipped, or fails under GATEHOUSE_TEST_REQUIRE_SERVICES=1.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if base == "" {
		const msg = "GATEHOUSE_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + " and GATEHOUSE_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip(msg + "; skipping the PostgreSQL tests")
	}
	schema := "gh_cmd_" + strings.ToLower(rand.Text()[:16])
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestPostgresStore runs the admin commands and the server on a
// PostgreSQL store.
func TestPostgresStore(t *testing.T) {
	store := postgresURL(t)
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
