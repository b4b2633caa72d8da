package ratelimit

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// DefaultMaxKeys is the number of keys a [Memory] limiter holds unless
// [WithMaxKeys] says otherwise.
const DefaultMaxKeys = 100_000

// Memory is a [Limiter] that keeps its buckets in this process: the default
// when a single gateway instance runs. It holds at most a fixed number of
// keys; when a new key finds no room, idle keys (full buckets, which are the
// same as absent ones) are dropped first, and if none is idle, the key
// nearest to full among a small sample, which at worst hands that key back
// the few tokens it still lacked.
//
// A Memory is safe for concurrent use. Its keys are spread over up to 64
// shards, each with its own mutex.
type Memory struct {
	policy Policy
	g      gcra
	now    func() time.Time
	base   time.Time // now() at construction; TATs are ns since base
	seed   maphash.Seed
	shards []memoryShard
	mask   uint64
	limit  int // keys per shard
}

type memoryShard struct {
	mu   sync.Mutex
	tats map[string]int64
	_    [48]byte // one shard per 64-byte cache line
}

// A MemoryOption configures [NewMemory].
type MemoryOption interface {
	applyMemory(*memoryConfig) error
}

type memoryConfig struct {
	maxKeys int
	now     func() time.Time
}

type memoryOption func(*memoryConfig) error

func (f memoryOption) applyMemory(c *memoryConfig) error { return f(c) }

// WithMaxKeys bounds the number of keys held (default [DefaultMaxKeys]).
// At least 1.
func WithMaxKeys(n int) MemoryOption {
	return memoryOption(func(c *memoryConfig) error {
		if n < 1 {
			return errors.New("ratelimit: WithMaxKeys: must be at least 1")
		}
		c.maxKeys = n
		return nil
	})
}

// WithClock replaces time.Now, for tests. The clock must not be nil.
func WithClock(now func() time.Time) MemoryOption {
	return memoryOption(func(c *memoryConfig) error {
		if now == nil {
			return errors.New("ratelimit: WithClock: nil clock")
		}
		c.now = now
		return nil
	})
}

// NewMemory returns an in-memory limiter for p. It fails if p is invalid
// (see [Policy.Validate]) or an option is.
func NewMemory(p Policy, opts ...MemoryOption) (*Memory, error) {
	g, err := p.gcra()
	if err != nil {
		return nil, err
	}
	cfg := memoryConfig{maxKeys: DefaultMaxKeys, now: time.Now}
	for _, o := range opts {
		if err := o.applyMemory(&cfg); err != nil {
			return nil, err
		}
	}
	shards := 1 // a power of two, ≤ 64, with at least 64 keys each
	for shards < 64 && shards*2*64 <= cfg.maxKeys {
		shards *= 2
	}
	m := &Memory{
		policy: p,
		g:      g,
		now:    cfg.now,
		base:   cfg.now(),
		seed:   maphash.MakeSeed(),
		shards: make([]memoryShard, shards),
		mask:   uint64(shards - 1),
		limit:  cfg.maxKeys / shards,
	}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
	}
	return m, nil
}

// Policy returns the limiter's policy.
func (m *Memory) Policy() Policy { return m.policy }

// Allow implements [Limiter]. It never fails but for n < 1.
func (m *Memory) Allow(_ context.Context, key string, n int) (Decision, error) {
	cost, d, done, err := m.g.decide(m.policy, n)
	if done {
		return d, err
	}
	now := int64(m.now().Sub(m.base))
	key = storedKey(key)
	s := &m.shards[maphash.String(m.seed, key)&m.mask]

	s.mu.Lock()
	tat, found := s.tats[key]
	tat, ok, diff, wait := m.g.take(tat, found, now, cost)
	if ok {
		if !found {
			s.makeRoom(now, m.limit)
		}
		s.tats[key] = tat
	}
	s.mu.Unlock()

	return m.g.decision(m.policy, ok, diff, wait), nil
}

// Len returns the number of keys held, idle ones included.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}

// makeRoom runs before a new key is added to s (locked). It looks at a few
// keys (Go's map iteration starts at a random place) and drops the idle
// ones, so idle keys go away as new ones come; when s is full and none of
// them was idle, it drops the one nearest to full.
func (s *memoryShard) makeRoom(now int64, limit int) {
	full := len(s.tats) >= limit
	sample := 2
	if full {
		sample = 8
	}
	victim, victimTAT := "", int64(math.MaxInt64)
	dropped := false
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
			dropped = true
		} else if tat < victimTAT {
			victim, victimTAT = k, tat
		}
		if sample--; sample == 0 {
			break
		}
	}
	if full && !dropped && victimTAT != math.MaxInt64 {
		delete(s.tats, victim)
	}
}
