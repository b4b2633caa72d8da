package cache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/cache"
)

var errNotFound = errors.New("not found")

// fakeClock moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// source is a data source that counts its reads.
type source struct {
	mu    sync.Mutex
	data  map[string]string
	reads atomic.Int64
}

func newSource(kv ...string) *source {
	s := &source{data: map[string]string{}}
	for i := 0; i < len(kv); i += 2 {
		s.data[kv[i]] = kv[i+1]
	}
	return s
}

func (s *source) put(k, v string) {
	s.mu.Lock()
	s.data[k] = v
	s.mu.Unlock()
}

func (s *source) loader(key string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		s.reads.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		v, ok := s.data[key]
		if !ok {
			return "", fmt.Errorf("key %q: %w", key, errNotFound)
		}
		return v, nil
	}
}

func newMemory(t testing.TB, clk *fakeClock) *cache.Memory {
	t.Helper()
	m, err := cache.NewMemory(cache.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newCache(t testing.TB, name string, b cache.Backend, opts ...cache.Option) *cache.Cache[string] {
	t.Helper()
	c, err := cache.New[string](name, b, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(t testing.TB, c *cache.Cache[string], src *source, key string) string {
	t.Helper()
	v, err := c.Get(context.Background(), key, src.loader(key))
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v
}

func TestMemoryTTLSharedBetweenCaches(t *testing.T) {
	clk := newFakeClock()
	m := newMemory(t, clk)
	src := newSource("alice", "v1")
	a := newCache(t, "users", m, cache.WithTTL(time.Minute), cache.WithClock(clk.Now))
	b := newCache(t, "users", m, cache.WithTTL(time.Minute), cache.WithClock(clk.Now))

	if v := get(t, a, src, "alice"); v != "v1" {
		t.Fatalf("a: %q", v)
	}
	if v := get(t, b, src, "alice"); v != "v1" {
		t.Fatalf("b: %q", v)
	}
	for range 10 {
		get(t, a, src, "alice")
		get(t, b, src, "alice")
	}
	if n := src.reads.Load(); n != 1 {
		t.Fatalf("reads within the TTL = %d, want 1", n)
	}
	if s := b.Stats(); s.SharedHits != 1 || s.Loads != 0 || s.Hits != 10 {
		t.Fatalf("b stats %+v: want 1 shared hit, 0 loads, 10 hits", s)
	}

	clk.Advance(59 * time.Second)
	get(t, a, src, "alice")
	if n := src.reads.Load(); n != 1 {
		t.Fatalf("reads before the TTL = %d, want 1", n)
	}
	clk.Advance(2 * time.Second)
	get(t, a, src, "alice")
	get(t, b, src, "alice")
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("reads after one TTL = %d, want 2", n)
	}
}

func TestLocalCopyDoesNotOutliveSharedEntry(t *testing.T) {
	clk := newFakeClock()
	m := newMemory(t, clk)
	src := newSource("k", "v1")
	a := newCache(t, "c", m, cache.WithTTL(time.Minute), cache.WithClock(clk.Now))
	b := newCache(t, "c", m, cache.WithTTL(time.Minute), cache.WithClock(clk.Now))
	get(t, a, src, "k") // shared entry until +60s
	clk.Advance(50 * time.Second)
	get(t, b, src, "k") // b's local copy: the remaining 10s, not 60s
	src.put("k", "v2")
	clk.Advance(11 * time.Second)
	if v := get(t, b, src, "k"); v != "v2" {
		t.Fatalf("b served %q after the shared entry expired", v)
	}
}

func TestNegativeEntries(t *testing.T) {
	clk := newFakeClock()
	m := newMemory(t, clk)
	src := newSource()
	c := newCache(t, "users", m, cache.WithClock(clk.Now), cache.WithNegative(errNotFound, 5*time.Second))
	ctx := context.Background()
	for range 3 {
		if _, err := c.Get(ctx, "bob", src.loader("bob")); !errors.Is(err, errNotFound) {
			t.Fatalf("Get(bob) = %v, want not found", err)
		}
	}
	if n := src.reads.Load(); n != 1 {
		t.Fatalf("reads = %d, want 1 (negative entry)", n)
	}
	src.put("bob", "v1")
	clk.Advance(6 * time.Second)
	if v := get(t, c, src, "bob"); v != "v1" {
		t.Fatalf("after the negative TTL: %q", v)
	}
	// A write invalidates a negative entry at once.
	if _, err := c.Get(ctx, "carol", src.loader("carol")); !errors.Is(err, errNotFound) {
		t.Fatal(err)
	}
	src.put("carol", "v1")
	if err := c.Invalidate(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if v := get(t, c, src, "carol"); v != "v1" {
		t.Fatalf("after Invalidate: %q", v)
	}
}

func TestOtherErrorsAreNotCached(t *testing.T) {
	m := newMemory(t, newFakeClock())
	c := newCache(t, "c", m, cache.WithNegative(errNotFound, time.Second))
	boom := errors.New("store down")
	calls := 0
	load := func(context.Context) (string, error) { calls++; return "", boom }
	for range 3 {
		if _, err := c.Get(context.Background(), "k", load); !errors.Is(err, boom) {
			t.Fatalf("Get = %v, want the load error", err)
		}
	}
	if calls != 3 {
		t.Fatalf("load calls = %d, want 3", calls)
	}
	if s := c.Stats(); s.LoadErrors != 3 {
		t.Fatalf("LoadErrors = %d", s.LoadErrors)
	}
}

func TestInvalidateReachesEveryCacheOfTheName(t *testing.T) {
	clk := newFakeClock()
	m := newMemory(t, clk)
	src := newSource("k", "v1")
	a := newCache(t, "c", m, cache.WithClock(clk.Now))
	b := newCache(t, "c", m, cache.WithClock(clk.Now))
	other := newCache(t, "other", m, cache.WithClock(clk.Now))
	get(t, a, src, "k")
	get(t, b, src, "k")
	get(t, other, src, "k")
	src.put("k", "v2")
	if err := a.Invalidate(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	if v := get(t, b, src, "k"); v != "v2" {
		t.Fatalf("b after a's invalidation: %q", v)
	}
	if v := get(t, a, src, "k"); v != "v2" {
		t.Fatalf("a after its invalidation: %q", v)
	}
	if v := get(t, other, src, "k"); v != "v1" {
		t.Fatalf("a cache of another name was invalidated: %q", v)
	}
	if s := b.Stats(); s.Invalidations != 1 {
		t.Fatalf("b Invalidations = %d", s.Invalidations)
	}
}

func TestSingleflight(t *testing.T) {
	m := newMemory(t, newFakeClock())
	c := newCache(t, "c", m)
	release := make(chan struct{})
	var loads atomic.Int64
	load := func(context.Context) (string, error) {
		loads.Add(1)
		<-release
		return "v", nil
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			v, err := c.Get(context.Background(), "k", load)
			if err == nil && v != "v" {
				err = fmt.Errorf("got %q", v)
			}
			errs <- err
		})
	}
	// Wait until all 50 missed, then let the one load finish.
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().Misses < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d goroutines reached the cache", c.Stats().Misses, n)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := loads.Load(); got != 1 {
		t.Fatalf("%d concurrent misses made %d loads, want 1", n, got)
	}
}

func TestCallerContextEndsButLoadGoesOn(t *testing.T) {
	m := newMemory(t, newFakeClock())
	c := newCache(t, "c", m)
	release := make(chan struct{})
	var loadCtxErr atomic.Value
	load := func(ctx context.Context) (string, error) {
		<-release
		loadCtxErr.Store(fmt.Sprint(ctx.Err()))
		return "v", nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.Get(ctx, "k", load)
		done <- err
	}()
	for c.Stats().Misses < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get after cancel = %v", err)
	}
	close(release)
	v, err := c.Get(context.Background(), "k", load)
	if err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if got := loadCtxErr.Load(); got != "<nil>" {
		t.Fatalf("the load saw its context end: %v", got)
	}
}

func TestFillRacingAnInvalidationIsNotKept(t *testing.T) {
	clk := newFakeClock()
	m := newMemory(t, clk)
	c := newCache(t, "c", m, cache.WithClock(clk.Now))
	src := newSource("k", "v1")
	inLoad, release := make(chan struct{}), make(chan struct{})
	staleLoad := func(ctx context.Context) (string, error) {
		v, err := src.loader("k")(ctx) // reads v1
		close(inLoad)
		<-release
		return v, err
	}
	done := make(chan string)
	go func() {
		v, _ := c.Get(context.Background(), "k", staleLoad)
		done <- v
	}()
	<-inLoad
	src.put("k", "v2") // the write lands after the load read ...
	if err := c.Invalidate(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	close(release) // ... and the load finishes after the invalidation
	if v := <-done; v != "v1" {
		t.Fatalf("the racing Get saw %q", v)
	}
	if v := get(t, c, src, "k"); v != "v2" {
		t.Fatalf("the stale fill was kept: %q", v)
	}
	// The shared tier did not keep it either.
	d := newCache(t, "c", m, cache.WithClock(clk.Now))
	if v := get(t, d, src, "k"); v != "v2" {
		t.Fatalf("shared tier kept the stale fill: %q", v)
	}
}

func TestLoadPanicIsAnError(t *testing.T) {
	c := newCache(t, "c", newMemory(t, newFakeClock()))
	_, err := c.Get(context.Background(), "k", func(context.Context) (string, error) { panic("boom") })
	if err == nil {
		t.Fatal("no error from a panicking load")
	}
}

func TestLocalTierIsBounded(t *testing.T) {
	m, err := cache.NewMemory(cache.WithMemoryMaxEntries(50))
	if err != nil {
		t.Fatal(err)
	}
	c := newCache(t, "c", m, cache.WithMaxEntries(20))
	src := newSource()
	for i := range 1000 {
		k := fmt.Sprint(i)
		src.put(k, k)
		get(t, c, src, k)
	}
	// otter evicts asynchronously; give it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for c.Stats().Entries > 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := c.Stats().Entries; n > 20 {
		t.Fatalf("local tier holds %d entries, the bound is 20", n)
	}
}

func TestOptionErrors(t *testing.T) {
	m := newMemory(t, newFakeClock())
	for name, tc := range map[string]struct {
		name string
		b    cache.Backend
		opts []cache.Option
	}{
		"empty name":        {name: "", b: m},
		"name with colon":   {name: "a:b", b: m},
		"name with brace":   {name: "a{b}", b: m},
		"nil backend":       {name: "c", b: nil},
		"zero TTL":          {name: "c", b: m, opts: []cache.Option{cache.WithTTL(0)}},
		"negative nil err":  {name: "c", b: m, opts: []cache.Option{cache.WithNegative(nil, time.Second)}},
		"negative zero TTL": {name: "c", b: m, opts: []cache.Option{cache.WithNegative(errNotFound, 0)}},
		"zero max entries":  {name: "c", b: m, opts: []cache.Option{cache.WithMaxEntries(0)}},
		"huge load timeout": {name: "c", b: m, opts: []cache.Option{cache.WithLoadTimeout(time.Hour)}},
		"nil clock":         {name: "c", b: m, opts: []cache.Option{cache.WithClock(nil)}},
	} {
		t.Run(name, func(t *testing.T) {
			var b cache.Backend
			if tc.b != nil {
				b = tc.b
			}
			if _, err := cache.New[string](tc.name, b, tc.opts...); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
