package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"
)

// Cache caches values of type V by string key, in a bounded local tier in
// front of a shared [Backend]. Values travel to the shared tier as JSON, so
// V must survive encoding/json. It is safe for concurrent use.
type Cache[V any] struct {
	name    string
	origin  string
	backend Backend
	local   *otter.Cache[string, entry[V]]
	cfg     config
	flight  singleflight.Group
	detach  func()

	// epoch moves on every invalidation and flush; a fill stores in the
	// local tier only if it has not moved since the fill began.
	epoch atomic.Uint64

	hits, misses, sharedHits, loads, loadErrors atomic.Uint64
	invalidations, flushes, backendErrors       atomic.Uint64
}

// entry is a cached value, or a negative entry.
type entry[V any] struct {
	value V
	neg   bool
	ttl   time.Duration
}

// Stats are a Cache's counters since it was created.
type Stats struct {
	// Hits counts lookups answered by the local tier, negative entries
	// included.
	Hits uint64
	// Misses counts lookups the local tier could not answer (absent,
	// expired, or bypassed while the backend is not synced).
	Misses uint64
	// SharedHits counts misses answered by the shared tier.
	SharedHits uint64
	// Loads counts calls of the load function.
	Loads uint64
	// LoadErrors counts loads that failed with an error that is not cached.
	LoadErrors uint64
	// Invalidations counts keys dropped by Invalidate here or elsewhere.
	Invalidations uint64
	// Flushes counts drops of the whole local tier after a resubscription.
	Flushes uint64
	// BackendErrors counts failed shared-tier calls (the lookup then went
	// to the load function).
	BackendErrors uint64
	// Entries is the approximate size of the local tier.
	Entries int
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// New returns the cache name on backend. Caches of the same name on one
// backend share entries and invalidations, in one process (Memory) or
// across processes (Redis); each name must hold one type of value. name is
// 1 to 64 of A-Z a-z 0-9 _ . -.
func New[V any](name string, backend Backend, opts ...Option) (*Cache[V], error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("cache: name %q: want 1 to 64 of A-Z a-z 0-9 _ . -", name)
	}
	if backend == nil {
		return nil, errors.New("cache: nil backend (use NewMemory for one machine)")
	}
	cfg := config{ttl: DefaultTTL, maxEntries: DefaultMaxEntries, loadTimeout: DefaultLoadTimeout}
	for _, o := range opts {
		if err := o.applyCache(&cfg); err != nil {
			return nil, err
		}
	}
	local, err := newOtter[entry[V]](cfg.maxEntries, cfg.now, func(e entry[V]) time.Duration { return e.ttl })
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	id := make([]byte, 8)
	rand.Read(id)
	c := &Cache[V]{name: name, origin: hex.EncodeToString(id), backend: backend, local: local, cfg: cfg}
	c.detach = backend.attach(name, c)
	return c, nil
}

// Name returns the cache's name.
func (c *Cache[V]) Name() string { return c.name }

// Get returns the value of key: from the local tier, else from the shared
// tier, else from load, whose answer it stores in both. An error of load
// that matches the WithNegative error is cached, and Get answers that
// error itself until the negative entry expires; other errors are returned
// and not cached. Concurrent Gets of one key share one load. If ctx ends
// first, Get returns its error and the load goes on for the others.
//
// load receives a context that carries ctx's values but not its
// cancellation, bounded by WithLoadTimeout.
func (c *Cache[V]) Get(ctx context.Context, key string, load func(ctx context.Context) (V, error)) (V, error) {
	if c.backend.synced() {
		if e, ok := c.local.GetIfPresent(key); ok {
			c.hits.Add(1)
			return c.result(e)
		}
	}
	c.misses.Add(1)
	ch := c.flight.DoChan(key, func() (v any, err error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.loadTimeout)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				c.loadErrors.Add(1)
				err = fmt.Errorf("cache %s: load panicked: %v", c.name, p)
			}
		}()
		return c.fill(lctx, key, load)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			var zero V
			return zero, r.Err
		}
		return c.result(r.Val.(entry[V]))
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

func (c *Cache[V]) result(e entry[V]) (V, error) {
	if e.neg {
		var zero V
		return zero, c.cfg.negErr
	}
	return e.value, nil
}

// fill runs once per key at a time: shared tier, else load.
func (c *Cache[V]) fill(ctx context.Context, key string, load func(context.Context) (V, error)) (entry[V], error) {
	epoch := c.epoch.Load()
	// While the backend is not synced, invalidations may be missed: go to
	// the source and keep nothing.
	useShared := c.backend.synced()
	var gen string
	if useShared {
		s, err := c.backend.get(ctx, c.name, key)
		switch {
		case err != nil:
			c.backendErrors.Add(1)
			useShared = false
		case s.found:
			// A negative entry means nothing to a cache without WithNegative.
			if e, err := decode[V](s.data); err == nil && (!e.neg || c.cfg.negErr != nil) {
				c.sharedHits.Add(1)
				e.ttl = c.ttlOf(e)
				if s.ttl > 0 {
					e.ttl = min(e.ttl, s.ttl)
				}
				c.keep(key, e, epoch)
				return e, nil
			}
			gen = s.gen // undecodable, e.g. written by another version: replace it
		default:
			gen = s.gen
		}
	}
	c.loads.Add(1)
	v, err := load(ctx)
	var e entry[V]
	switch {
	case err == nil:
		e = entry[V]{value: v, ttl: c.cfg.ttl}
	case c.cfg.negErr != nil && errors.Is(err, c.cfg.negErr):
		e = entry[V]{neg: true, ttl: c.cfg.negTTL}
	default:
		c.loadErrors.Add(1)
		return e, err
	}
	if useShared {
		if data, err := encode(e); err != nil {
			c.backendErrors.Add(1)
		} else if err := c.backend.set(ctx, c.name, key, data, e.ttl, gen); err != nil {
			c.backendErrors.Add(1)
		}
		c.keep(key, e, epoch)
	}
	return e, nil
}

func (c *Cache[V]) ttlOf(e entry[V]) time.Duration {
	if e.neg {
		return c.cfg.negTTL
	}
	return c.cfg.ttl
}

// keep stores e in the local tier unless an invalidation or a flush
// happened since the fill began, or the backend is not synced.
func (c *Cache[V]) keep(key string, e entry[V], epoch uint64) {
	if c.epoch.Load() != epoch || !c.backend.synced() {
		return
	}
	c.local.Set(key, e)
	// An invalidation between the check and the Set must win.
	if c.epoch.Load() != epoch {
		c.local.Invalidate(key)
	}
}

// Invalidate drops keys from this cache and from the shared tier, and
// tells every other cache of the name: in this process before it returns,
// in other processes through Redis within milliseconds. Call it after every
// write of the source. An error means the other processes may serve the
// old value until its TTL; the local tier is dropped anyway.
func (c *Cache[V]) Invalidate(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	c.invalidated(keys)
	err := c.backend.invalidate(ctx, c.name, c.origin, keys)
	// A Get of this cache between the first drop and the shared tier's may
	// have read the old shared value and kept it (its fill began after the
	// epoch moved). The backend skips its own origin's message, so drop
	// again now that the shared tier no longer holds it, whatever err.
	c.drop(keys)
	if err != nil {
		c.backendErrors.Add(1)
		return err
	}
	return nil
}

// Stats returns the cache's counters.
func (c *Cache[V]) Stats() Stats {
	return Stats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), SharedHits: c.sharedHits.Load(),
		Loads: c.loads.Load(), LoadErrors: c.loadErrors.Load(),
		Invalidations: c.invalidations.Load(), Flushes: c.flushes.Load(),
		BackendErrors: c.backendErrors.Load(), Entries: c.local.EstimatedSize(),
	}
}

// Close detaches the cache from its backend and drops its local tier. Do
// not use the cache after Close.
func (c *Cache[V]) Close() error {
	c.detach()
	c.local.InvalidateAll()
	c.local.StopAllGoroutines()
	return nil
}

func (c *Cache[V]) id() string { return c.origin }

func (c *Cache[V]) invalidated(keys []string) {
	c.drop(keys)
	c.invalidations.Add(uint64(len(keys)))
}

// drop moves the epoch and drops keys from the local tier and from the
// loads in flight, without counting an invalidation.
func (c *Cache[V]) drop(keys []string) {
	c.epoch.Add(1)
	for _, k := range keys {
		c.local.Invalidate(k)
		c.flight.Forget(k)
	}
}

func (c *Cache[V]) flush() {
	c.epoch.Add(1)
	c.local.InvalidateAll()
	c.flushes.Add(1)
}

// The shared tier holds "+" and the JSON of a value, or "-" for a negative
// entry.
func encode[V any](e entry[V]) ([]byte, error) {
	if e.neg {
		return []byte("-"), nil
	}
	b, err := json.Marshal(e.value)
	if err != nil {
		return nil, err
	}
	return append([]byte("+"), b...), nil
}

func decode[V any](data []byte) (entry[V], error) {
	var e entry[V]
	switch {
	case len(data) == 1 && data[0] == '-':
		e.neg = true
		return e, nil
	case len(data) > 1 && data[0] == '+':
		err := json.Unmarshal(data[1:], &e.value)
		return e, err
	}
	return e, errors.New("cache: unknown encoding")
}
