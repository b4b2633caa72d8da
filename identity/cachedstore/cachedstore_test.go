package cachedstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/cachedstore"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/internal/pgtest"
	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// countingStore counts the reads that reach the store.
type countingStore struct {
	identity.Store
	reads atomic.Int64
}

func (s *countingStore) UserByID(ctx context.Context, id string) (*identity.User, error) {
	s.reads.Add(1)
	return s.Store.UserByID(ctx, id)
}

func (s *countingStore) UserByUsername(ctx context.Context, name string) (*identity.User, error) {
	s.reads.Add(1)
	return s.Store.UserByUsername(ctx, name)
}

func (s *countingStore) ClientByID(ctx context.Context, id string) (*identity.Client, error) {
	s.reads.Add(1)
	return s.Store.ClientByID(ctx, id)
}

func openSQLite(t testing.TB) identity.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openPostgres opens a store in a fresh schema of GATEHOUSE_TEST_POSTGRES;
// each call opens another pool on the same schema, like another process.
func openPostgres(t testing.TB, schema string) identity.Store {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	s, err := postgres.OpenConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newMemoryBackend(t testing.TB, opts ...cache.MemoryOption) *cache.Memory {
	t.Helper()
	m, err := cache.NewMemory(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newRedisBackend(t testing.TB, name, prefix string) *cache.Redis {
	t.Helper()
	b, err := cache.NewRedis(redistest.Client(t, name), cache.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

func cached(t testing.TB, s identity.Store, b cache.Backend, opts ...cache.Option) *cachedstore.Store {
	t.Helper()
	c, err := cachedstore.New(s, b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func seed(t testing.TB, s identity.Store) (*identity.User, *identity.Client) {
	t.Helper()
	ctx := context.Background()
	u := &identity.User{Username: "alice", Email: "alice@acme.test", Groups: []string{"admin"}, Roles: []string{"ops"}, Org: "acme"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	c := &identity.Client{ID: "svc-a", Name: "A", Grants: []string{identity.GrantClientCredentials}, Scopes: []string{"read"}}
	if err := s.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	return u, c
}

func TestCachedReadsTheStoreOncePerTTL(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	src := &countingStore{Store: openSQLite(t)}
	u, c := seed(t, src)
	backend := newMemoryBackend(t, cache.WithClock(clock))
	s := cached(t, src, backend, cache.WithTTL(time.Minute), cache.WithClock(clock))
	ctx := context.Background()
	for range 100 {
		got, err := s.UserByID(ctx, u.ID)
		if err != nil || got.Username != "alice" || got.Groups[0] != "admin" {
			t.Fatalf("UserByID = %+v, %v", got, err)
		}
		got.Groups[0] = "mutated" // callers get copies
		if _, err := s.UserByUsername(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if cl, err := s.ClientByID(ctx, c.ID); err != nil || cl.Scopes[0] != "read" {
			t.Fatalf("ClientByID = %+v, %v", cl, err)
		}
	}
	if n := src.reads.Load(); n != 3 {
		t.Fatalf("300 lookups made %d store reads, want 3", n)
	}
	advance(time.Minute + time.Second)
	for range 10 {
		s.UserByID(ctx, u.ID)
	}
	if n := src.reads.Load(); n != 4 {
		t.Fatalf("after one TTL: %d reads, want 4", n)
	}
	// Unknown ids are remembered for the negative TTL.
	for range 10 {
		if _, err := s.UserByID(ctx, "nobody"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
		if _, err := s.ClientByID(ctx, "nobody"); !errors.Is(err, identity.ErrNotFound) {
			t.Fatalf("unknown client: %v", err)
		}
	}
	if n := src.reads.Load(); n != 6 {
		t.Fatalf("after 20 lookups of unknown ids: %d reads, want 6", n)
	}
	if st := s.Stats(); st.Loads != 6 || st.Hits == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Every write through the cached store is seen by the next read, even of
// an entry cached (positively or negatively) just before.
func TestCachedWritesInvalidate(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		write func(t *testing.T, s *cachedstore.Store, u *identity.User)
		check func(t *testing.T, s *cachedstore.Store, u *identity.User)
	}{
		{"disable", func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			if _, err := s.SetUserDisabled(ctx, "alice", true); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			a, _ := s.UserByID(ctx, u.ID)
			b, _ := s.UserByUsername(ctx, "alice")
			if !a.Disabled || !b.Disabled {
				t.Fatal("disabled user still cached as enabled")
			}
		}},
		{"put user", func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			v := *u
			v.Groups = []string{"support"}
			if err := s.PutUser(ctx, &v); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			a, _ := s.UserByID(ctx, u.ID)
			if len(a.Groups) != 1 || a.Groups[0] != "support" {
				t.Fatalf("groups %v", a.Groups)
			}
		}},
		{"create after a negative entry", func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			if _, err := s.UserByUsername(ctx, "bob"); !errors.Is(err, identity.ErrNotFound) {
				t.Fatal(err)
			}
			if err := s.CreateUser(ctx, &identity.User{Username: "bob", Email: "bob@acme.test"}); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			if _, err := s.UserByUsername(ctx, "bob"); err != nil {
				t.Fatalf("new user still cached as unknown: %v", err)
			}
		}},
		{"delete client", func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			if err := s.DeleteClient(ctx, "svc-a"); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			if _, err := s.ClientByID(ctx, "svc-a"); !errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("deleted client still cached: %v", err)
			}
		}},
		{"put client", func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			if err := s.PutClient(ctx, &identity.Client{ID: "svc-a", Scopes: []string{"write"}}); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			c, _ := s.ClientByID(ctx, "svc-a")
			if c.Scopes[0] != "write" {
				t.Fatalf("scopes %v", c.Scopes)
			}
		}},
		{"create client after a negative entry", func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			s.ClientByID(ctx, "svc-b")
			if err := s.CreateClient(ctx, &identity.Client{ID: "svc-b"}); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, s *cachedstore.Store, u *identity.User) {
			if _, err := s.ClientByID(ctx, "svc-b"); err != nil {
				t.Fatalf("new client still cached as unknown: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := openSQLite(t)
			u, _ := seed(t, src)
			s := cached(t, src, newMemoryBackend(t), cache.WithTTL(time.Hour))
			s.UserByID(ctx, u.ID)
			s.UserByUsername(ctx, "alice")
			s.ClientByID(ctx, "svc-a")
			tt.write(t, s, u)
			tt.check(t, s, u)
		})
	}
}

// Two auth server or service instances: two pools on one PostgreSQL
// schema, two Redis backends. A write through one is seen by the other
// within a second, and the unchanged entries keep being shared.
func TestCachedTwoInstancesOnRedisAndPostgres(t *testing.T) {
	schema := pgtest.Schema(t)
	prefix := redistest.Prefix(t)
	srcA := &countingStore{Store: openPostgres(t, schema)}
	srcB := &countingStore{Store: openPostgres(t, schema)}
	u, _ := seed(t, srcA)
	a := cached(t, srcA, newRedisBackend(t, "identity-a", prefix), cache.WithTTL(time.Hour))
	b := cached(t, srcB, newRedisBackend(t, "identity-b", prefix), cache.WithTTL(time.Hour))
	ctx := context.Background()
	for range 20 {
		for _, s := range []*cachedstore.Store{a, b} {
			if got, err := s.UserByID(ctx, u.ID); err != nil || got.Disabled {
				t.Fatalf("UserByID = %+v, %v", got, err)
			}
		}
	}
	if n := srcA.reads.Load() + srcB.reads.Load(); n != 1 {
		t.Fatalf("40 lookups in two instances made %d store reads, want 1", n)
	}
	if _, err := a.SetUserDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	took := redistest.Eventually(t, time.Second, "b sees the disabled user", func() bool {
		got, err := b.UserByID(ctx, u.ID)
		return err == nil && got.Disabled
	})
	t.Logf("b saw a's write after %s", took)
	if err := b.DeleteClient(ctx, "svc-a"); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, time.Second, "a sees the deleted client", func() bool {
		_, err := a.ClientByID(ctx, "svc-a")
		return errors.Is(err, identity.ErrNotFound)
	})
}

func TestCachedNeedsAStoreAndABackend(t *testing.T) {
	if _, err := cachedstore.New(nil, newMemoryBackend(t)); err == nil {
		t.Error("nil store accepted")
	}
	if _, err := cachedstore.New(openSQLite(t), nil); err == nil {
		t.Error("nil backend accepted")
	}
	if _, err := cachedstore.New(openSQLite(t), newMemoryBackend(t), cache.WithTTL(-1)); err == nil {
		t.Error("negative TTL accepted")
	}
}

// TestCachedKeepsHashesOutOfTheCache: what the cache holds, in the process
// and in Redis, has no password or secret hash; the credential reads go to
// the store and carry them.
func TestCachedKeepsHashesOutOfTheCache(t *testing.T) {
	ctx := context.Background()
	store := openSQLite(t)
	pw, _ := identity.HashPasswordWith("pw", identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	u := &identity.User{Username: "alice", PasswordHash: pw}
	if err := store.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateClient(ctx, &identity.Client{ID: "svc", SecretHash: pw, Grants: []string{identity.GrantClientCredentials}}); err != nil {
		t.Fatal(err)
	}
	prefix := redistest.Prefix(t)
	c := cached(t, store, newRedisBackend(t, "hashes", prefix))
	byID, err := c.UserByID(ctx, u.ID)
	if err != nil || byID.PasswordHash != "" {
		t.Fatalf("UserByID through the cache: hash %q, %v", byID.PasswordHash, err)
	}
	if byName, err := c.UserByUsername(ctx, "alice"); err != nil || byName.PasswordHash != "" {
		t.Fatalf("UserByUsername through the cache: %+v %v", byName, err)
	}
	if cl, err := c.ClientByID(ctx, "svc"); err != nil || cl.SecretHash != "" {
		t.Fatalf("ClientByID through the cache: %+v %v", cl, err)
	}
	if cr, err := c.UserCredentials(ctx, "alice"); err != nil || cr.PasswordHash != pw {
		t.Fatalf("UserCredentials: %+v %v", cr, err)
	}
	if cr, err := c.ClientCredentials(ctx, "svc"); err != nil || cr.SecretHash != pw {
		t.Fatalf("ClientCredentials: %+v %v", cr, err)
	}
	rdb := redistest.Client(t, "hashes-admin")
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("no cache keys under %s: %v", prefix, err)
	}
	for _, k := range keys {
		if v, _ := rdb.Get(ctx, k).Result(); strings.Contains(v, "argon2id") {
			t.Fatalf("Redis key %s holds a hash: %s", k, v)
		}
		if h, _ := rdb.HGetAll(ctx, k).Result(); strings.Contains(fmt.Sprint(h), "argon2id") {
			t.Fatalf("Redis hash %s holds a password hash", k)
		}
	}
}
