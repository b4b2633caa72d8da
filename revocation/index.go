package revocation

import (
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse/token"
)

// pruneEvery is how often adding to the index also drops expired entries.
const pruneEvery = time.Minute

// index is the deny list in memory, which every check reads.
type index struct {
	mu        sync.RWMutex
	tokens    map[string]Entry
	subjects  map[string]Entry
	clients   map[string]Entry
	sessions  map[string]Entry
	nextPrune time.Time
}

func newIndex() *index {
	return &index{tokens: map[string]Entry{}, subjects: map[string]Entry{}, clients: map[string]Entry{},
		sessions: map[string]Entry{}}
}

// all returns the maps of every kind.
func (x *index) all() [4]map[string]Entry {
	return [4]map[string]Entry{x.tokens, x.subjects, x.clients, x.sessions}
}

func (x *index) mapOf(k Kind) map[string]Entry {
	switch k {
	case Token:
		return x.tokens
	case Subject:
		return x.subjects
	case Session:
		return x.sessions
	default:
		return x.clients
	}
}

// revoked reports whether an entry that holds at now() matches c. The
// clock is read only when an entry matches: most tokens match none, and
// reading the clock costs more than the lookups on some machines.
func (x *index) revoked(c *token.Claims, now func() time.Time) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var at time.Time
	holds := func(e Entry) bool {
		if at.IsZero() {
			at = now()
		}
		return at.Before(e.Until)
	}
	if c.ID != "" {
		if e, ok := x.tokens[c.ID]; ok && holds(e) {
			return true
		}
	}
	if c.SessionID != "" {
		if e, ok := x.sessions[c.SessionID]; ok && holds(e) {
			return true
		}
	}
	iat := c.IssuedAt.Time() // zero without iat: revoked by any entry
	if c.Subject != "" {
		if e, ok := x.subjects[c.Subject]; ok && !iat.After(e.IssuedBefore) && holds(e) {
			return true
		}
	}
	if c.ClientID != "" {
		if e, ok := x.clients[c.ClientID]; ok && !iat.After(e.IssuedBefore) && holds(e) {
			return true
		}
	}
	return false
}

// add merges entries into the index and returns those that changed it:
// new, or revoking more, or kept longer. Entries that no longer hold at
// now are skipped.
func (x *index) add(now time.Time, entries ...Entry) []Entry {
	x.mu.Lock()
	defer x.mu.Unlock()
	var changed []Entry
	for _, e := range entries {
		if !now.Before(e.Until) {
			continue
		}
		m := x.mapOf(e.Kind)
		old, ok := m[e.Value]
		if ok && now.Before(old.Until) {
			e = old.merge(e)
			if e == old {
				continue
			}
		}
		m[e.Value] = e
		changed = append(changed, e)
	}
	if !now.Before(x.nextPrune) {
		x.pruneLocked(now)
		x.nextPrune = now.Add(pruneEvery)
	}
	return changed
}

func (x *index) pruneLocked(now time.Time) {
	for _, m := range x.all() {
		for k, e := range m {
			if !now.Before(e.Until) {
				delete(m, k)
			}
		}
	}
}

func (x *index) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.tokens) + len(x.subjects) + len(x.clients) + len(x.sessions)
}

func (x *index) entries(now time.Time) []Entry {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []Entry
	for _, m := range x.all() {
		for _, e := range m {
			if now.Before(e.Until) {
				out = append(out, e)
			}
		}
	}
	return out
}
