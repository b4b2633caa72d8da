// Package ttlcache is the one bounded, expiring in-memory map of
// gatehouse's caches: the verified-token cache (token), the exchanged-token
// cache (relay), and the auth server's caches of verified client secrets
// and of client-assertion jtis. It is a thin layer over otter
// (github.com/maypok86/otter/v2) that gives each entry an expiry time of
// its own and never returns an entry at or past it.
//
//	c, _ := ttlcache.New(ttlcache.Options[string, string]{MaxEntries: 10_000})
//	c.Set("k", "v", time.Now().Add(time.Minute))
//	v, ok := c.Get("k")
//
// What it guarantees:
//
//   - Get and Add treat an entry as gone from its expiry time on, by the
//     cache's clock (Options.Now), whether or not otter has removed it yet.
//   - With MaxEntries, the cache holds at most that many entries once its
//     maintenance has run (on writes, so a burst of writes may overshoot by
//     otter's write buffer until then); past it, otter evicts in O(1) by
//     frequency and recency (W-TinyLFU), expired entries first. Nothing
//     scans the entries on a write.
//   - Expired entries are removed by that maintenance, which runs on the
//     goroutine of the call that needs it: there is no background
//     goroutine, and an idle cache keeps its expired entries (invisible)
//     until it is used again.
package ttlcache

import (
	"errors"
	"math"
	"time"

	"github.com/maypok86/otter/v2"
)

// Cache is a map whose entries expire, each at a time of its own, with an
// optional bound on their number. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	o   *otter.Cache[K, item[V]]
	now func() time.Time
}

type item[V any] struct {
	value V
	until int64 // Unix nanoseconds; never: math.MaxInt64
}

// never is the until of an entry that does not expire.
const never = math.MaxInt64

// untilOf converts an expiry time (zero: never) to an item's until,
// saturating past what int64 nanoseconds hold (year 2262).
func untilOf(t time.Time) int64 {
	if t.IsZero() || t.After(time.Unix(0, never)) {
		return never
	}
	return t.UnixNano()
}

// Options configures a [Cache]. The zero value is an unbounded cache on
// time.Now.
type Options[K comparable, V any] struct {
	// MaxEntries bounds the number of entries (0: no bound but expiry).
	MaxEntries int
	// Now is the clock that decides expiry (default time.Now).
	Now func() time.Time
	// OnRemove, if set, is called for every entry that leaves the cache:
	// expired, evicted or deleted (not when Set replaces its value). It runs
	// under the lock of the entry's bucket, during the removal: it must be
	// short and must not call the cache.
	OnRemove func(key K, value V)
}

// New returns an empty cache.
func New[K comparable, V any](o Options[K, V]) (*Cache[K, V], error) {
	if o.MaxEntries < 0 {
		return nil, errors.New("ttlcache: negative MaxEntries")
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	c := &Cache[K, V]{now: now}
	oo := &otter.Options[K, item[V]]{
		MaximumSize: o.MaxEntries,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[K, item[V]]) time.Duration {
			return c.lifetime(e.Value.until)
		}),
		Clock: clock{now},
		// Maintenance (eviction, removal of expired entries) runs on the
		// goroutine of the read or write that calls for it: the clock is
		// only ever read by the callers' goroutines (a test's clock needs
		// no lock beyond what its callers share), and no goroutine is
		// started. OnRemove and the compute functions never call the
		// cache, so running under its locks cannot deadlock.
		Executor: func(fn func()) { fn() },
	}
	if remove := o.OnRemove; remove != nil {
		oo.OnAtomicDeletion = func(e otter.DeletionEvent[K, item[V]]) {
			if e.Cause != otter.CauseReplacement {
				remove(e.Key, e.Value.value)
			}
		}
	}
	var err error
	c.o, err = otter.New(oo)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Must is New for options fixed in the code (a constant MaxEntries): it
// panics on the error New would return.
func Must[K comparable, V any](o Options[K, V]) *Cache[K, V] {
	c, err := New(o)
	if err != nil {
		panic(err)
	}
	return c
}

// lifetime is how long an entry until lives from now.
func (c *Cache[K, V]) lifetime(until int64) time.Duration {
	if until == never {
		return math.MaxInt64 // otter saturates: never reached
	}
	return time.Duration(until - c.now().UnixNano())
}

// live reports whether an entry until is still live now.
func (c *Cache[K, V]) live(until int64) bool { return until == never || c.now().UnixNano() < until }

// Get returns the value of key while its entry lives.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	// One reading of the clock: the one otter checked its own expiry with
	// (its view of the entry's until may be later by the time between two
	// readings of the clock at the write).
	e, ok := c.o.GetEntry(key)
	if !ok || e.SnapshotAtNano >= e.Value.until {
		var zero V
		return zero, false
	}
	return e.Value.value, true
}

// Set stores value under key until the given time (zero: until it is
// evicted or deleted), replacing what key held, and reports whether it
// stored it: an until not after now stores nothing.
func (c *Cache[K, V]) Set(key K, value V, until time.Time) bool {
	u := untilOf(until)
	if !c.live(u) {
		return false
	}
	c.o.Set(key, item[V]{value: value, until: u})
	return true
}

// Add stores value under key until the given time unless key holds a live
// entry, and reports whether it stored it. An until not after now stores
// nothing and reports false.
func (c *Cache[K, V]) Add(key K, value V, until time.Time) bool {
	u := untilOf(until)
	if !c.live(u) {
		return false
	}
	for {
		it, added := c.o.SetIfAbsent(key, item[V]{value: value, until: u})
		if added {
			return true
		}
		if c.live(it.until) {
			return false
		}
		// Expired by our clock but not yet by otter's reading of it: drop
		// it and try again.
		c.o.ComputeIfPresent(key, func(old item[V]) (item[V], otter.ComputeOp) {
			if c.live(old.until) {
				return old, otter.CancelOp
			}
			return old, otter.InvalidateOp
		})
	}
}

// Delete removes the entry of key.
func (c *Cache[K, V]) Delete(key K) { c.o.Invalidate(key) }

// DeleteIf removes the entry of key if match reports true for its value.
// match runs under the entry's bucket lock and must not call the cache.
func (c *Cache[K, V]) DeleteIf(key K, match func(V) bool) {
	c.o.ComputeIfPresent(key, func(old item[V]) (item[V], otter.ComputeOp) {
		if match(old.value) {
			return old, otter.InvalidateOp
		}
		return old, otter.CancelOp
	})
}

// DeleteWhere removes every entry for which match reports true. It visits
// each entry once, without blocking other calls for longer than one
// entry's check; entries added meanwhile may be missed. match runs under
// the entry's bucket lock and must not call the cache.
func (c *Cache[K, V]) DeleteWhere(match func(K, V) bool) {
	for k, it := range c.o.All() {
		if match(k, it.value) {
			c.DeleteIf(k, func(v V) bool { return match(k, v) })
		}
	}
}

// Len returns about how many entries the cache holds (expired entries not
// yet removed included).
func (c *Cache[K, V]) Len() int { return c.o.EstimatedSize() }

// CleanUp runs the cache's maintenance now: it removes the expired entries
// and evicts down to MaxEntries.
func (c *Cache[K, V]) CleanUp() { c.o.CleanUp() }

// clock is otter's view of Options.Now. It never ticks: expired entries
// are removed by the maintenance that reads and writes run, and no
// goroutine outlives the cache.
type clock struct{ now func() time.Time }

func (c clock) NowNano() int64 { return c.now().UnixNano() }

func (c clock) Tick(time.Duration) <-chan time.Time { return nil }
