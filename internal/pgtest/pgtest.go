// Package pgtest gives tests a PostgreSQL of their own: the server of
// GATEHOUSE_TEST_POSTGRES and a fresh schema per test, dropped when the
// test ends, so that packages and runs in parallel never see each other's
// rows. Without the variable a test is skipped, or fails when
// GATEHOUSE_TEST_REQUIRE_SERVICES=1 (as .ci/run sets it).
package pgtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL returns GATEHOUSE_TEST_POSTGRES, or skips (or fails) t without it.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if u == "" {
		const msg = "GATEHOUSE_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + " and GATEHOUSE_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip(msg + "; skipping the PostgreSQL test")
	}
	return u
}

// Schema creates an empty schema with a random name on the server of URL
// and drops it, with everything in it, when t ends.
func Schema(t testing.TB) string {
	t.Helper()
	server := URL(t)
	schema := "gh_test_" + strings.ToLower(rand.Text()[:16])
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(context.Background(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	return schema
}

// SchemaURL is URL with a fresh [Schema] as its search_path: a store opened
// on it keeps its tables there.
func SchemaURL(t testing.TB) string {
	t.Helper()
	schema := Schema(t)
	u, err := url.Parse(URL(t))
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
