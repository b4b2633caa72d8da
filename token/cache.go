package token

import (
	"crypto/sha256"
	"sync"
	"time"
)

// cache holds verified claims keyed by the SHA-256 of the raw token, bounded
// in size, so a repeated token skips parsing and the signature check. It is
// sharded to keep lock contention low.
type cache struct {
	shards [cacheShards]cacheShard
}

const cacheShards = 16

type cacheKey [sha256.Size]byte

type cacheEntry struct {
	claims *Claims
	kid    string
	thumb  string
}

type cacheShard struct {
	mu      sync.RWMutex
	entries map[cacheKey]*cacheEntry
	byID    map[string]cacheKey
	limit   int
}

func newCache(size int) *cache {
	c := &cache{}
	per := max(size/cacheShards, 1)
	for i := range c.shards {
		c.shards[i] = cacheShard{entries: make(map[cacheKey]*cacheEntry), byID: make(map[string]cacheKey), limit: per}
	}
	return c
}

func (c *cache) key(raw string) cacheKey { return sha256.Sum256([]byte(raw)) }

func (c *cache) shard(k cacheKey) *cacheShard { return &c.shards[k[0]%cacheShards] }

func (c *cache) get(k cacheKey) *cacheEntry {
	s := c.shard(k)
	s.mu.RLock()
	e := s.entries[k]
	s.mu.RUnlock()
	return e
}

func (c *cache) put(k cacheKey, e *cacheEntry, now time.Time) {
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) >= s.limit {
		s.evict(now.Unix())
	}
	s.entries[k] = e
	if id := e.claims.ID; id != "" {
		s.byID[id] = k
	}
}

// evict removes expired entries, or, when none has expired, one entry.
func (s *cacheShard) evict(now int64) {
	removed := false
	for k, e := range s.entries {
		if int64(e.claims.ExpiresAt) < now {
			s.remove(k, e)
			removed = true
		}
	}
	if removed {
		return
	}
	for k, e := range s.entries { // map order is random: a random victim
		s.remove(k, e)
		return
	}
}

func (s *cacheShard) remove(k cacheKey, e *cacheEntry) {
	delete(s.entries, k)
	if id := e.claims.ID; id != "" && s.byID[id] == k {
		delete(s.byID, id)
	}
}

func (c *cache) drop(k cacheKey) {
	s := c.shard(k)
	s.mu.Lock()
	if e, ok := s.entries[k]; ok {
		s.remove(k, e)
	}
	s.mu.Unlock()
}

func (c *cache) dropID(jti string) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		if k, ok := s.byID[jti]; ok {
			if e, ok := s.entries[k]; ok {
				s.remove(k, e)
			}
		}
		s.mu.Unlock()
	}
}

func (c *cache) dropWhere(match func(*Claims) bool) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for k, e := range s.entries {
			if match(e.claims) {
				s.remove(k, e)
			}
		}
		s.mu.Unlock()
	}
}

func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.entries)
		s.mu.RUnlock()
	}
	return n
}
