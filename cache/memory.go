package cache

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
)

// Backend is the shared tier of a Cache: a [*Memory] or a [*Redis]. Share
// one backend between the caches of a process.
type Backend interface {
	// get returns the shared entry of key in the cache name.
	get(ctx context.Context, name, key string) (shared, error)
	// set stores data for ttl unless the key was invalidated since the get
	// that returned gen.
	set(ctx context.Context, name, key string, data []byte, ttl time.Duration, gen string) error
	// invalidate drops keys from the shared tier and tells every other
	// cache of the name, here and in other processes.
	invalidate(ctx context.Context, name, origin string, keys []string) error
	// attach registers a cache to hear invalidations of its name.
	attach(name string, l listener) (detach func())
	// synced reports whether invalidations reach this process now.
	synced() bool
}

// shared is what the shared tier holds for a key.
type shared struct {
	found bool
	data  []byte
	// ttl is the entry's remaining life; 0 when unknown.
	ttl time.Duration
	// gen identifies the key's generation, for set.
	gen string
}

// listener is a Cache as its backend sees it.
type listener interface {
	id() string
	// invalidated drops keys from the local tier.
	invalidated(keys []string)
	// flush drops the whole local tier.
	flush()
}

// listeners maps cache names to the caches of that name.
type listeners struct {
	mu     sync.RWMutex
	byName map[string]map[listener]struct{}
}

func (ls *listeners) attach(name string, l listener) func() {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.byName == nil {
		ls.byName = map[string]map[listener]struct{}{}
	}
	if ls.byName[name] == nil {
		ls.byName[name] = map[listener]struct{}{}
	}
	ls.byName[name][l] = struct{}{}
	return func() {
		ls.mu.Lock()
		defer ls.mu.Unlock()
		delete(ls.byName[name], l)
		if len(ls.byName[name]) == 0 {
			delete(ls.byName, name)
		}
	}
}

// of returns the caches of name but the one with id origin.
func (ls *listeners) of(name, origin string) []listener {
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	out := make([]listener, 0, len(ls.byName[name]))
	for l := range ls.byName[name] {
		if l.id() != origin {
			out = append(out, l)
		}
	}
	return out
}

func (ls *listeners) all() []listener {
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	var out []listener
	for _, m := range ls.byName {
		for l := range m {
			out = append(out, l)
		}
	}
	return out
}

// Memory is the shared tier of the caches of one process, for a single
// machine: every Cache of a name on one Memory shares its entries, and an
// invalidation reaches them before Invalidate returns. It is safe for
// concurrent use.
type Memory struct {
	now  func() time.Time
	data *otter.Cache[string, memEntry]

	mu    sync.Mutex
	epoch uint64 // bumped by every invalidation; the generation of every key

	ls listeners
}

type memEntry struct {
	data    []byte
	ttl     time.Duration
	expires time.Time
}

var _ Backend = (*Memory)(nil)

// NewMemory returns an in-process shared tier.
func NewMemory(opts ...MemoryOption) (*Memory, error) {
	cfg := memoryConfig{maxEntries: 100_000}
	for _, o := range opts {
		if err := o.applyMemory(&cfg); err != nil {
			return nil, err
		}
	}
	data, err := newOtter[memEntry](cfg.maxEntries, cfg.now, func(e memEntry) time.Duration { return e.ttl })
	if err != nil {
		return nil, err
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	return &Memory{now: cfg.now, data: data}, nil
}

func (m *Memory) get(_ context.Context, name, key string) (shared, error) {
	m.mu.Lock()
	e, ok := m.data.GetIfPresent(memKey(name, key))
	gen := strconv.FormatUint(m.epoch, 10)
	m.mu.Unlock()
	if !ok {
		return shared{gen: gen}, nil
	}
	return shared{found: true, data: e.data, ttl: e.expires.Sub(m.now()), gen: gen}, nil
}

func (m *Memory) set(_ context.Context, name, key string, data []byte, ttl time.Duration, gen string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != strconv.FormatUint(m.epoch, 10) {
		return nil // invalidated meanwhile: what was read may be stale
	}
	m.data.Set(memKey(name, key), memEntry{data: data, ttl: ttl, expires: m.now().Add(ttl)})
	return nil
}

func (m *Memory) invalidate(_ context.Context, name, origin string, keys []string) error {
	m.mu.Lock()
	m.epoch++
	for _, k := range keys {
		m.data.Invalidate(memKey(name, k))
	}
	m.mu.Unlock()
	for _, l := range m.ls.of(name, origin) {
		l.invalidated(keys)
	}
	return nil
}

func (m *Memory) attach(name string, l listener) func() { return m.ls.attach(name, l) }

func (m *Memory) synced() bool { return true }

func memKey(name, key string) string { return name + "\x00" + key }

// newOtter returns a bounded otter cache whose entries live ttl(value),
// on otter's own clock unless now is set.
func newOtter[V any](size int, now func() time.Time, ttl func(V) time.Duration) (*otter.Cache[string, V], error) {
	o := &otter.Options[string, V]{
		MaximumSize: size,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, V]) time.Duration {
			return ttl(e.Value)
		}),
	}
	if now != nil {
		o.Clock = clock{now}
	}
	return otter.New(o)
}

// clock adapts a test's time function to otter's Clock. It never ticks:
// expired entries are dropped when read or evicted.
type clock struct{ now func() time.Time }

func (c clock) NowNano() int64 { return c.now().UnixNano() }

func (c clock) Tick(time.Duration) <-chan time.Time { return nil }
