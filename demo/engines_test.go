package demo

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// postgresURL returns GATEHOUSE_TEST_POSTGRES with a fresh schema in its
// search_path (dropped when the test ends), or skips the test when it is
// unset (fails under GATEHOUSE_TEST_REQUIRE_SERVICES=1).
func postgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("GATEHOUSE_TEST_POSTGRES")
	if u == "" {
		const msg = "GATEHOUSE_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + " and GATEHOUSE_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip(msg + "; skipping the demo on PostgreSQL")
	}
	schema := "gh_demo_" + strings.ToLower(rand.Text()[:16])
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, u)
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
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_POSTGRES: %v", err)
	}
	q := parsed.Query()
	q.Set("search_path", schema)
	parsed.RawQuery = q.Encode()
	return parsed.String()
}

// The same scenarios on the real engines: rate limits, revocation list and
// identity cache in Redis, the identity store in PostgreSQL.
func TestWalkthroughRedisPostgres(t *testing.T) {
	t.Parallel()
	redisURL := redistest.URL(t)
	pg := postgresURL(t)
	env := startDemo(t, Config{RedisURL: redisURL, PostgresURL: pg, KeyPrefix: redistest.Prefix(t), Logger: testLogger(t)})
	if !strings.Contains(env.Engines, "Redis") || !strings.Contains(env.Engines, "PostgreSQL") {
		t.Fatalf("engines %q, want Redis and PostgreSQL", env.Engines)
	}
	runWalkthrough(t, env)
}
