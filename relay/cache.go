package relay

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// DefaultMaxEntries bounds the exchanged-token cache.
const DefaultMaxEntries = 10000

// tokenCache holds tokens until their renewal time. It is bounded: when
// full, expired entries go first, then arbitrary ones.
type tokenCache struct {
	max int

	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	token   string
	renewAt time.Time // zero: never
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max, m: make(map[string]cachedToken)}
}

func (c *tokenCache) get(key string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return "", false
	}
	if !e.renewAt.IsZero() && !now.Before(e.renewAt) {
		delete(c.m, key)
		return "", false
	}
	return e.token, true
}

// put stores tok until renewAt; a renewAt not after now stores nothing.
func (c *tokenCache) put(key, tok string, renewAt, now time.Time) {
	if !renewAt.IsZero() && !now.Before(renewAt) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k, e := range c.m {
			if !e.renewAt.IsZero() && !now.Before(e.renewAt) {
				delete(c.m, k)
			}
		}
		for k := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[key] = cachedToken{token: tok, renewAt: renewAt}
}

// drop removes the entry of key if it still holds tok.
func (c *tokenCache) drop(key, tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok && e.token == tok {
		delete(c.m, key)
	}
}

// renewTime is when a token valid until exp should be replaced: before
// ahead of exp, but never sooner than half its remaining life, so that a
// short-lived token is still reused. A zero exp (unknown) is never.
func renewTime(now, exp time.Time, before time.Duration) time.Time {
	if exp.IsZero() {
		return time.Time{}
	}
	return exp.Add(-min(before, exp.Sub(now)/2))
}

// hashToken names a token in cache keys without keeping it.
func hashToken(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}
