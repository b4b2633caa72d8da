package ttlcache_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/ttlcache"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }

func (f *fakeClock) add(d time.Duration) { f.mu.Lock(); f.t = f.t.Add(d); f.mu.Unlock() }

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_000_000, 0)} }

// An entry is served until its expiry time, never at or after it, and a
// zero time never expires.
func TestExpiry(t *testing.T) {
	clk := newClock()
	c, err := ttlcache.New(ttlcache.Options[string, int]{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	c.Set("a", 1, clk.now().Add(time.Second))
	c.Set("forever", 2, time.Time{})
	c.Set("past", 3, clk.now())
	if _, ok := c.Get("past"); ok {
		t.Fatal("an entry whose time had come was stored")
	}
	clk.add(time.Second - time.Nanosecond)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("a before its expiry: %v %v", v, ok)
	}
	clk.add(time.Nanosecond)
	if _, ok := c.Get("a"); ok {
		t.Fatal("a served at its expiry time")
	}
	clk.add(100 * 365 * 24 * time.Hour)
	if v, ok := c.Get("forever"); !ok || v != 2 {
		t.Fatalf("an entry without expiry: %v %v", v, ok)
	}
	// A time past what int64 nanoseconds hold is far away, not past.
	c.Set("far", 5, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if v, ok := c.Get("far"); !ok || v != 5 {
		t.Fatalf("an entry expiring in the year 3000: %v %v", v, ok)
	}
	// Set replaces the value and the expiry.
	c.Set("forever", 4, clk.now().Add(time.Second))
	clk.add(time.Second)
	if _, ok := c.Get("forever"); ok {
		t.Fatal("Set kept the old expiry")
	}
}

// Add stores only over an absent or expired entry.
func TestAdd(t *testing.T) {
	clk := newClock()
	var removed atomic.Int64
	c, _ := ttlcache.New(ttlcache.Options[string, int]{Now: clk.now, OnRemove: func(string, int) { removed.Add(1) }})
	until := clk.now().Add(time.Minute)
	if !c.Add("j", 1, until) {
		t.Fatal("first Add refused")
	}
	if c.Add("j", 2, until) {
		t.Fatal("second Add of a live key stored")
	}
	if c.Add("k", 1, clk.now()) {
		t.Fatal("Add with an expiry not after now stored")
	}
	clk.add(time.Minute)
	if !c.Add("j", 3, clk.now().Add(time.Minute)) {
		t.Fatal("Add over an expired entry refused")
	}
	if v, _ := c.Get("j"); v != 3 {
		t.Fatalf("j = %d, want 3", v)
	}
	// The expired entry that Add replaced left the cache: OnRemove saw it,
	// once (so that a count kept by OnRemove stays right).
	c.CleanUp()
	if got := removed.Load(); got != 1 {
		t.Fatalf("OnRemove called %d times, want 1 (the expired j)", got)
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1", c.Len())
	}
}

// The bound holds once maintenance ran, expired entries go before live
// ones, and OnRemove sees every entry that leaves.
func TestBoundAndOnRemove(t *testing.T) {
	clk := newClock()
	var removed atomic.Int64
	c, _ := ttlcache.New(ttlcache.Options[int, int]{MaxEntries: 100, Now: clk.now,
		OnRemove: func(int, int) { removed.Add(1) }})
	for i := range 1000 {
		c.Set(i, i, clk.now().Add(time.Hour))
	}
	c.CleanUp()
	if n := c.Len(); n > 100 {
		t.Fatalf("%d entries, bound 100", n)
	}
	if got := removed.Load(); got != 1000-int64(c.Len()) {
		t.Fatalf("OnRemove called %d times for %d removed", got, 1000-c.Len())
	}

	// Expired entries first: 50 short-lived and 50 long-lived fill it; once
	// the short ones expired, 50 new ones evict none of the long ones.
	c, _ = ttlcache.New(ttlcache.Options[int, int]{MaxEntries: 100, Now: clk.now})
	for i := range 100 {
		life := time.Hour
		if i%2 == 0 {
			life = time.Second
		}
		c.Set(i, i, clk.now().Add(life))
	}
	c.CleanUp()
	clk.add(2 * time.Second)
	for i := range 50 {
		c.Set(1000+i, i, clk.now().Add(time.Hour))
	}
	c.CleanUp()
	for i := 1; i < 100; i += 2 {
		if _, ok := c.Get(i); !ok {
			t.Fatalf("live entry %d evicted while expired ones made room", i)
		}
	}
	for i := range 50 {
		if _, ok := c.Get(1000 + i); !ok {
			t.Fatalf("new entry %d missing", i)
		}
	}
}

func TestDelete(t *testing.T) {
	var removed []string
	var mu sync.Mutex
	c, _ := ttlcache.New(ttlcache.Options[string, string]{MaxEntries: 10, OnRemove: func(k, _ string) {
		mu.Lock()
		removed = append(removed, k)
		mu.Unlock()
	}})
	until := time.Now().Add(time.Hour)
	for _, k := range []string{"a", "b", "c", "d"} {
		c.Set(k, "v"+k, until)
	}
	c.Set("a", "va2", until) // a replacement is no removal
	c.Delete("a")
	c.DeleteIf("b", func(v string) bool { return v == "other" })
	c.DeleteIf("c", func(v string) bool { return v == "vc" })
	if _, ok := c.Get("b"); !ok {
		t.Fatal("DeleteIf removed an entry that did not match")
	}
	if _, ok := c.Get("c"); ok {
		t.Fatal("DeleteIf kept a matching entry")
	}
	c.DeleteWhere(func(k, _ string) bool { return k == "d" })
	if _, ok := c.Get("d"); ok {
		t.Fatal("DeleteWhere kept a matching entry")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(removed) != 3 {
		t.Fatalf("OnRemove saw %v, want a, c, d", removed)
	}
}

// Concurrent writers, readers and deletions under the race detector.
func TestConcurrent(t *testing.T) {
	c, _ := ttlcache.New(ttlcache.Options[string, int]{MaxEntries: 64})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := strconv.Itoa(g*10_000 + i%300)
				c.Set(k, i, time.Now().Add(time.Minute))
				c.Get(k)
				if i%50 == 0 {
					c.DeleteWhere(func(_ string, v int) bool { return v%7 == 0 })
				}
			}
		}()
	}
	wg.Wait()
	c.CleanUp()
	if n := c.Len(); n > 64 {
		t.Fatalf("%d entries, bound 64", n)
	}
}
