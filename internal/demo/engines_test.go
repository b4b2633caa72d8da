package demo

import (
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/pgtest"
	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// The same scenarios on the real engines: rate limits, revocation list and
// identity cache in Redis, the identity store in PostgreSQL.
func TestWalkthroughRedisPostgres(t *testing.T) {
	t.Parallel()
	redisURL := redistest.URL(t)
	pg := pgtest.SchemaURL(t)
	env := startDemo(t, Config{RedisURL: redisURL, PostgresURL: pg, KeyPrefix: redistest.Prefix(t), Logger: testLogger(t)})
	if !strings.Contains(env.Engines, "Redis") || !strings.Contains(env.Engines, "PostgreSQL") {
		t.Fatalf("engines %q, want Redis and PostgreSQL", env.Engines)
	}
	runWalkthrough(t, env)
}
