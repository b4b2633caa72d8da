package cache_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// newRedisBackend returns a synced Redis backend on client, as one process
// would hold it.
func newRedisBackend(t testing.TB, client redis.UniversalClient, prefix string, opts ...cache.RedisOption) *cache.Redis {
	t.Helper()
	b, err := cache.NewRedis(client, append([]cache.RedisOption{cache.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.WaitSynced(ctx); err != nil {
		t.Fatalf("backend did not sync: %v", err)
	}
	return b
}

func TestRedisTwoProcessesShareAndInvalidate(t *testing.T) {
	prefix := redistest.Prefix(t)
	ba := newRedisBackend(t, redistest.Client(t, "cache-a"), prefix)
	bb := newRedisBackend(t, redistest.Client(t, "cache-b"), prefix)
	src := newSource("alice", "v1")
	a := newCache(t, "users", ba)
	b := newCache(t, "users", bb)

	for range 20 {
		if v := get(t, a, src, "alice"); v != "v1" {
			t.Fatalf("a: %q", v)
		}
		if v := get(t, b, src, "alice"); v != "v1" {
			t.Fatalf("b: %q", v)
		}
	}
	if n := src.reads.Load(); n != 1 {
		t.Fatalf("40 lookups through two processes made %d source reads, want 1", n)
	}
	if s := b.Stats(); s.SharedHits != 1 || s.Loads != 0 {
		t.Fatalf("b stats %+v: want its first lookup answered by Redis", s)
	}

	src.put("alice", "v2")
	if err := a.Invalidate(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	took := redistest.Eventually(t, time.Second, "b sees a's write", func() bool {
		v, err := b.Get(context.Background(), "alice", src.loader("alice"))
		return err == nil && v == "v2"
	})
	t.Logf("b saw a's invalidation after %s", took)
	// And the other way round.
	src.put("alice", "v3")
	if err := b.Invalidate(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, time.Second, "a sees b's write", func() bool {
		v, err := a.Get(context.Background(), "alice", src.loader("alice"))
		return err == nil && v == "v3"
	})
}

func TestRedisTTLAndNegativeEntries(t *testing.T) {
	prefix := redistest.Prefix(t)
	ba := newRedisBackend(t, redistest.Client(t, "cache-a"), prefix)
	bb := newRedisBackend(t, redistest.Client(t, "cache-b"), prefix)
	src := newSource("alice", "v1")
	opts := []cache.Option{cache.WithTTL(300 * time.Millisecond), cache.WithNegative(errNotFound, 200*time.Millisecond)}
	a := newCache(t, "users", ba, opts...)
	b := newCache(t, "users", bb, opts...)
	ctx := context.Background()

	get(t, a, src, "alice")
	get(t, b, src, "alice")
	if _, err := a.Get(ctx, "bob", src.loader("bob")); err != errNotFound {
		t.Fatalf("a Get(bob) = %v, want errNotFound itself", err)
	}
	if _, err := b.Get(ctx, "bob", src.loader("bob")); err != errNotFound {
		t.Fatalf("b Get(bob) = %v, want the negative entry", err)
	}
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("reads = %d, want 2 (alice once, bob once)", n)
	}
	time.Sleep(350 * time.Millisecond)
	get(t, b, src, "alice")
	get(t, a, src, "alice")
	if n := src.reads.Load(); n != 3 {
		t.Fatalf("reads after one TTL = %d, want 3", n)
	}
}

// A subscriber whose connection is killed misses what is published
// meanwhile; it must drop its local tier when it subscribes again. The kill
// and the invalidation run in one MULTI, so the message is certainly
// published while the subscriber is disconnected.
func TestRedisResyncAfterSubscriptionKilled(t *testing.T) {
	prefix := redistest.Prefix(t)
	admin := redistest.Client(t, "cache-admin")
	bb := newRedisBackend(t, redistest.Client(t, "cache-b"), prefix)
	src := newSource("alice", "v1")
	b := newCache(t, "users", bb)
	get(t, b, src, "alice")
	get(t, b, src, "alice")

	id := redistest.PubSubID(t, admin, "cache-b")
	if id == "" {
		t.Fatal("no subscription connection of cache-b")
	}
	src.put("alice", "v2")
	ctx := context.Background()
	key := prefix + ":users:{alice}"
	cmds, err := admin.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "CLIENT", "KILL", "ID", id)
		p.Incr(ctx, key+":gen")
		p.Del(ctx, key)
		p.Publish(ctx, prefix+":invalidate", `{"c":"users","o":"elsewhere","k":["alice"]}`)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := cmds[3].(*redis.IntCmd).Val(); n != 0 {
		t.Fatalf("the invalidation reached %d subscribers; the test needs it to reach none", n)
	}
	took := redistest.Eventually(t, time.Second, "b sees the write made while it was disconnected", func() bool {
		v, err := b.Get(ctx, "alice", src.loader("alice"))
		return err == nil && v == "v2"
	})
	t.Logf("b answered v2 after %s", took)
	redistest.Eventually(t, 2*time.Second, "b resubscribes", func() bool { return bb.Stats().Resyncs >= 2 })
	if s := b.Stats(); s.Flushes < 1 {
		t.Fatalf("b did not drop its local tier on resubscription: %+v", s)
	}
	// Synced again, it caches again.
	get(t, b, src, "alice")
	r := src.reads.Load()
	get(t, b, src, "alice")
	get(t, b, src, "alice")
	if got := src.reads.Load(); got != r {
		t.Fatalf("after the resync, lookups still go to the source (%d more reads)", got-r)
	}
}

func TestRedisUnreachableFallsBackToLoad(t *testing.T) {
	b, err := cache.NewRedis(redistest.Unreachable(t), cache.WithTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := newCache(t, "users", b)
	src := newSource("alice", "v1")
	start := time.Now()
	for range 5 {
		if v := get(t, c, src, "alice"); v != "v1" {
			t.Fatalf("%q", v)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("5 lookups with Redis down took %s", d)
	}
	if n := src.reads.Load(); n != 5 {
		t.Fatalf("reads = %d, want 5: nothing may be cached while invalidations cannot arrive", n)
	}
	if err := c.Invalidate(context.Background(), "alice"); err == nil {
		t.Fatal("Invalidate with Redis down: no error")
	}
	if s := b.Stats(); s.Synced {
		t.Fatal("synced with Redis down")
	}
}

// Fault tests through a TCP proxy that cuts the connection (closed, new
// ones refused) or black-holes it (open, nothing answers): the loss is
// found, lookups never fail nor take longer than the timeout while Redis is
// away, nothing is cached meanwhile, and caching and invalidations from
// other processes resume when the network does.
func TestRedisFaultAndRecovery(t *testing.T) {
	const timeout = 200 * time.Millisecond
	const bound = 10 * timeout // fails on a hang, not on a slow machine
	for _, tt := range []struct {
		name  string
		fault func(*redistest.Proxy)
	}{
		{"cut", (*redistest.Proxy).Cut},
		{"blackhole", (*redistest.Proxy).Blackhole},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prefix := redistest.Prefix(t)
			proxy := redistest.NewProxy(t)
			bb := newRedisBackend(t, redistest.ClientVia(t, "cache-b", proxy.Addr()), prefix,
				cache.WithTimeout(timeout), cache.WithHealthCheck(timeout))
			ba := newRedisBackend(t, redistest.Client(t, "cache-a"), prefix)
			src := newSource("alice", "v1")
			b := newCache(t, "users", bb)
			a := newCache(t, "users", ba)
			get(t, b, src, "alice")

			tt.fault(proxy)
			redistest.Eventually(t, bound, "the loss is detected", func() bool { return !bb.Stats().Synced })
			r := src.reads.Load()
			for range 3 {
				start := time.Now()
				get(t, b, src, "alice")
				if d := time.Since(start); d > bound {
					t.Fatalf("a lookup took %s with Redis unreachable", d)
				}
			}
			if got := src.reads.Load() - r; got != 3 {
				t.Fatalf("3 lookups while disconnected made %d source reads, want 3 (nothing cached)", got)
			}
			// A write elsewhere during the outage: b must not serve the old value later.
			src.put("alice", "v2")
			if err := a.Invalidate(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}

			proxy.Restore()
			redistest.Eventually(t, 5*time.Second, "the subscription comes back", func() bool { return bb.Stats().Synced })
			if v := get(t, b, src, "alice"); v != "v2" {
				t.Fatalf("after recovery b answered %q, want v2", v)
			}
			r = src.reads.Load()
			get(t, b, src, "alice")
			get(t, b, src, "alice")
			if got := src.reads.Load() - r; got != 0 {
				t.Fatalf("after recovery, 2 lookups made %d reads", got)
			}
			src.put("alice", "v3")
			if err := a.Invalidate(context.Background(), "alice"); err != nil {
				t.Fatal(err)
			}
			redistest.Eventually(t, time.Second, "b hears invalidations again", func() bool { return get(t, b, src, "alice") == "v3" })
		})
	}
}

// Gets of the invalidating process racing its Invalidate must not keep the
// old value: the Redis message of its own origin is skipped.
func TestRedisInvalidateWinsOverOwnConcurrentGets(t *testing.T) {
	prefix := redistest.Prefix(t)
	rb := newRedisBackend(t, redistest.Client(t, "race"), prefix)
	c, err := cache.New[int64]("u", rb, cache.WithTTL(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var src atomic.Int64
	load := func(context.Context) (int64, error) { return src.Load(), nil }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Get(ctx, "k", load)
			}
		}()
	}
	stale := 0
	for i := int64(1); i <= 100; i++ {
		src.Store(i)
		if err := c.Invalidate(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if v, _ := c.Get(ctx, "k", load); v != i {
			stale++
		}
	}
	close(stop)
	wg.Wait()
	if stale > 0 {
		t.Fatalf("%d of 100 Gets after Invalidate returned answered an old value", stale)
	}
}
