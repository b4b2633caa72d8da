package token

import (
	"testing"
	"time"
)

func TestCacheIsBounded(t *testing.T) {
	c := newCache(64)
	now := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		raw := string(rune('a'+i%26)) + time.Duration(i).String()
		c.put(c.key(raw), &cacheEntry{claims: &Claims{ID: raw, ExpiresAt: 2000}}, now)
	}
	if n := c.len(); n > 64 {
		t.Fatalf("cache holds %d entries, limit 64", n)
	}
	// Expired entries go first.
	c = newCache(cacheShards) // one entry per shard
	k := c.key("old")
	c.put(k, &cacheEntry{claims: &Claims{ID: "old", ExpiresAt: 500}}, now)
	for i := 0; i < 50 && c.get(k) != nil; i++ {
		raw := "new" + time.Duration(i).String()
		if c.key(raw)[0]%cacheShards == k[0]%cacheShards {
			c.put(c.key(raw), &cacheEntry{claims: &Claims{ID: raw, ExpiresAt: 2000}}, now)
		}
	}
	if c.get(k) != nil {
		t.Fatal("expired entry survived eviction")
	}
}
