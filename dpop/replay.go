package dpop

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// ReplayCache refuses a proof seen before: the replay check of RFC 9449
// §11.1. Implementations are safe for concurrent use.
type ReplayCache interface {
	// First reports whether key is new, remembering it until until. An
	// error means the cache could not tell: the caller refuses the proof.
	First(ctx context.Context, key string, until time.Time) (bool, error)
}

// errReplayFull is returned by the memory cache when every slot holds a
// proof still inside its window: forgetting one could let it be replayed.
var errReplayFull = errors.New("dpop: memory replay cache full of unexpired proofs")

// NewMemoryReplay returns a replay cache of one process that holds at
// most limit unexpired keys (at least 1). Expired keys are dropped as new
// ones arrive; when limit keys are all unexpired, First refuses with an
// error rather than forget one. It reads time.Now.
func NewMemoryReplay(limit int) ReplayCache { return newMemoryReplay(limit, time.Now) }

func newMemoryReplay(limit int, now func() time.Time) *memoryReplay {
	return &memoryReplay{max: max(limit, 1), now: now, keys: make(map[string]int64)}
}

// memoryReplay is a map of keys to their expiry with a min-heap of
// expiries, so that dropping the expired ones costs O(log n) each.
type memoryReplay struct {
	max  int
	now  func() time.Time
	mu   sync.Mutex
	keys map[string]int64
	exp  expiryHeap
}

var _ ReplayCache = (*memoryReplay)(nil)

// First implements [ReplayCache].
func (m *memoryReplay) First(_ context.Context, key string, until time.Time) (bool, error) {
	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.exp) > 0 && m.exp[0].until <= now {
		e := heap.Pop(&m.exp).(expiry)
		if m.keys[e.key] == e.until {
			delete(m.keys, e.key)
		}
	}
	if u, ok := m.keys[key]; ok && u > now {
		return false, nil
	}
	if len(m.keys) >= m.max {
		return false, errReplayFull
	}
	u := until.UnixNano()
	m.keys[key] = u
	heap.Push(&m.exp, expiry{key: key, until: u})
	return true, nil
}

type expiry struct {
	key   string
	until int64
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].until < h[j].until }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
