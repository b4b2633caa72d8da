package cachedstore_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// seed000 is the accounts → admin call chain: service A (accounts) looks
// up the calling account and calls service B (admin) for it; B looks the
// account up again and checks that it is in group admin. Each service
// reads through its own identity.Users (a cachedstore.Store on a backend
// they share, or the store itself).
type seed000 struct {
	a, b *httptest.Server
}

func newSeed000(t testing.TB, usersA, usersB identity.Users) *seed000 {
	t.Helper()
	s := &seed000{}
	s.b = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := usersB.UserByID(r.Context(), r.Header.Get("X-Account"))
		if err != nil || u.Disabled || !slices.Contains(u.Groups, "admin") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		io.WriteString(w, u.Email)
	}))
	s.a = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Account")
		if _, err := usersA.UserByID(r.Context(), id); err != nil {
			http.Error(w, "unknown account", http.StatusUnauthorized)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, s.b.URL, nil)
		req.Header.Set("X-Account", id)
		resp, err := s.b.Client().Do(req)
		if err != nil {
			http.Error(w, "B unreachable", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(func() { s.a.Close(); s.b.Close() })
	return s
}

func (s *seed000) call(t testing.TB, account string) {
	req, _ := http.NewRequest(http.MethodGet, s.a.URL, nil)
	req.Header.Set("X-Account", account)
	resp, err := s.a.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("A answered %d", resp.StatusCode)
	}
}

// TestSeed000CacheEffect: N requests through A → B for one account make 2N
// store reads without the cache, and one per TTL with it — in one process
// (Memory) and across processes (one Redis backend per service).
func TestSeed000CacheEffect(t *testing.T) {
	const n = 50
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	const ttl = time.Minute

	tests := []struct {
		name string
		// services returns the Users of A and B over src.
		services func(t *testing.T, src identity.Store) (identity.Users, identity.Users)
		want     int64
		// afterTTL is the number of reads after the clock passes one TTL
		// and n more requests; 0 skips that step.
		afterTTL int64
	}{
		{"no cache", func(t *testing.T, src identity.Store) (identity.Users, identity.Users) { return src, src }, 2 * n, 4 * n},
		{"memory", func(t *testing.T, src identity.Store) (identity.Users, identity.Users) {
			b := newMemoryBackend(t, cache.WithClock(clock))
			opts := []cache.Option{cache.WithTTL(ttl), cache.WithClock(clock)}
			return cached(t, src, b, opts...), cached(t, src, b, opts...)
		}, 1, 2},
		{"redis, one backend per service", func(t *testing.T, src identity.Store) (identity.Users, identity.Users) {
			prefix := redistest.Prefix(t)
			return cached(t, src, newRedisBackend(t, "seed000-a", prefix), cache.WithTTL(ttl)),
				cached(t, src, newRedisBackend(t, "seed000-b", prefix), cache.WithTTL(ttl))
		}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &countingStore{Store: openSQLite(t)}
			u, _ := seed(t, src)
			src.reads.Store(0)
			a, b := tt.services(t, src)
			chain := newSeed000(t, a, b)
			for range n {
				chain.call(t, u.ID)
			}
			if got := src.reads.Load(); got != tt.want {
				t.Fatalf("%d requests A → B: %d store reads, want %d", n, got, tt.want)
			}
			t.Logf("%d requests A → B: %d store reads", n, src.reads.Load())
			if tt.afterTTL == 0 {
				return
			}
			mu.Lock()
			now = now.Add(ttl + time.Second)
			mu.Unlock()
			for range n {
				chain.call(t, u.ID)
			}
			if got := src.reads.Load(); got != tt.afterTTL {
				t.Fatalf("after one TTL and %d more requests: %d store reads, want %d", n, got, tt.afterTTL)
			}
		})
	}
}

// BenchmarkSeed000CacheEffect prints the store reads per request of the
// accounts → admin chain (metric reads/req) and its cost, without and with the
// cache; "floor" is the same chain with no identity lookup at all.
func BenchmarkSeed000CacheEffect(b *testing.B) {
	modes := []struct {
		name     string
		services func(b *testing.B, src identity.Store) (identity.Users, identity.Users)
	}{
		{"floor", nil},
		{"no-cache", func(b *testing.B, src identity.Store) (identity.Users, identity.Users) { return src, src }},
		{"cache-memory", func(b *testing.B, src identity.Store) (identity.Users, identity.Users) {
			m := newMemoryBackend(b)
			return cached(b, src, m), cached(b, src, m)
		}},
		{"cache-redis", func(b *testing.B, src identity.Store) (identity.Users, identity.Users) {
			prefix := redistest.Prefix(b)
			return cached(b, src, newRedisBackend(b, "seed000-a", prefix)), cached(b, src, newRedisBackend(b, "seed000-b", prefix))
		}},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			src := &countingStore{Store: openSQLite(b)}
			u, _ := seed(b, src)
			src.reads.Store(0)
			var users [2]identity.Users
			if m.services == nil {
				users[0], users[1] = free{u}, free{u}
			} else {
				users[0], users[1] = m.services(b, src)
			}
			chain := newSeed000(b, users[0], users[1])
			b.ResetTimer()
			for b.Loop() {
				chain.call(b, u.ID)
			}
			b.ReportMetric(float64(src.reads.Load())/float64(b.N), "reads/req")
			if testing.Verbose() {
				fmt.Printf("accounts → admin %-13s %d requests A → B: %d identity store reads\n", m.name, b.N, src.reads.Load())
			}
		})
	}
}

// free answers every lookup with one user and no I/O: the floor.
type free struct{ u *identity.User }

func (f free) UserByID(context.Context, string) (*identity.User, error)       { return f.u, nil }
func (f free) UserByUsername(context.Context, string) (*identity.User, error) { return f.u, nil }
func (f free) CreateUser(context.Context, *identity.User) error               { return nil }
func (f free) PutUser(context.Context, *identity.User) error                  { return nil }
func (f free) ListUsers(context.Context) ([]*identity.User, error)            { return nil, nil }
func (f free) SetUserDisabled(context.Context, string, bool) (*identity.User, error) {
	return f.u, nil
}
