package relay

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/gatehousehq/gatehouse/internal/ttlcache"
)

// DefaultMaxEntries bounds the exchanged-token cache.
const DefaultMaxEntries = 10000

// tokenCache holds tokens until their renewal time, on the exchange's
// clock. It is bounded (internal/ttlcache: when full, expired entries go
// first, then the least used, in constant time).
type tokenCache struct {
	c *ttlcache.Cache[string, string]
}

func newTokenCache(max int, now func() time.Time) (*tokenCache, error) {
	c, err := ttlcache.New(ttlcache.Options[string, string]{MaxEntries: max, Now: now})
	if err != nil {
		return nil, relayErr("exchange: token cache: %w", err)
	}
	return &tokenCache{c: c}, nil
}

// get returns the token of key before its renewal time.
func (c *tokenCache) get(key string) (string, bool) { return c.c.Get(key) }

// put stores tok until renewAt (zero: never due); a renewAt not after now
// stores nothing.
func (c *tokenCache) put(key, tok string, renewAt time.Time) { c.c.Set(key, tok, renewAt) }

// drop removes the entry of key if it still holds tok.
func (c *tokenCache) drop(key, tok string) {
	c.c.DeleteIf(key, func(held string) bool { return held == tok })
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
