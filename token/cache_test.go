package token

import (
	"hash/maphash"
	"strconv"
	"testing"
	"time"
)

func TestCacheIsBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	c, err := newCache(64, func() time.Time { return now }, DefaultLeeway)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		raw := string(rune('a'+i%26)) + time.Duration(i).String()
		c.put(c.key(raw), &cacheEntry{claims: &Claims{ID: raw, ExpiresAt: 2000}})
	}
	if n := c.len(); n > 64 {
		t.Fatalf("cache holds %d entries, limit 64", n)
	}
	if indexed := c.indexed(); indexed != c.len() {
		t.Fatalf("the jti index names %d tokens, the cache holds %d", indexed, c.len())
	}
}

// Expired entries go first: once some entries have expired, new ones take
// their room and no live entry is evicted.
func TestCacheEvictsExpiredFirst(t *testing.T) {
	now := time.Unix(1000, 0)
	c, err := newCache(64, func() time.Time { return now }, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 64 {
		exp := NumericDate(2000)
		if i%2 == 0 {
			exp = 1100
		}
		raw := "old" + strconv.Itoa(i)
		c.put(c.key(raw), &cacheEntry{claims: &Claims{ID: raw, ExpiresAt: exp}})
	}
	now = time.Unix(1200, 0) // the even ones expired
	for i := range 32 {
		raw := "new" + strconv.Itoa(i)
		c.put(c.key(raw), &cacheEntry{claims: &Claims{ID: raw, ExpiresAt: 2000}})
	}
	for i := range 64 {
		e := c.get(c.key("old" + strconv.Itoa(i)))
		switch {
		case i%2 == 0 && e != nil:
			t.Fatalf("expired entry old%d served", i)
		case i%2 == 1 && e == nil:
			t.Fatalf("live entry old%d evicted while expired ones made room", i)
		}
	}
	if n := c.len(); n != 64 {
		t.Fatalf("cache holds %d entries, want 64", n)
	}
}

// An entry is served until the token's exp plus the leeway, never after.
func TestCacheEntryLivesUntilExpPlusLeeway(t *testing.T) {
	now := time.Unix(1000, 0)
	c, err := newCache(10, func() time.Time { return now }, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	k := c.key("t")
	c.put(k, &cacheEntry{claims: &Claims{ID: "t", ExpiresAt: 1100}})
	now = time.Unix(1100+29, 0)
	if c.get(k) == nil {
		t.Fatal("entry dropped within the leeway")
	}
	now = time.Unix(1100+30, 0)
	if c.get(k) != nil {
		t.Fatal("entry served past exp + leeway")
	}
	// A token put when already past exp + leeway is not stored, nor indexed.
	c.put(c.key("late"), &cacheEntry{claims: &Claims{ID: "late", ExpiresAt: 1000}})
	c.mu.Lock()
	_, indexed := c.byID[maphash.String(c.seed, "late")]
	c.mu.Unlock()
	if indexed || c.get(c.key("late")) != nil {
		t.Fatal("an expired token was cached")
	}
}

// ForgetID drops every token of the jti, ForgetSubject every token of the
// subject, and nothing else.
func TestCacheDropByIDAndSubject(t *testing.T) {
	now := time.Unix(1000, 0)
	c, err := newCache(100, func() time.Time { return now }, 0)
	if err != nil {
		t.Fatal(err)
	}
	put := func(raw, jti, sub string) cacheKey {
		k := c.key(raw)
		c.put(k, &cacheEntry{claims: &Claims{ID: jti, Subject: sub, ExpiresAt: 2000}})
		return k
	}
	a1 := put("a1", "same", "alice") // two tokens, one jti
	a2 := put("a2", "same", "alice")
	a3 := put("a3", "same", "alice")
	b := put("b", "other", "bob")
	b2 := put("b2", "", "bob")
	// The first token of the jti leaves (as an eviction would): the index
	// still names the others.
	c.drop(a1)
	if c.indexed() != 3 {
		t.Fatalf("the index names %d tokens, want 3 (a2, a3, b)", c.indexed())
	}
	c.dropID("same")
	if c.get(a1) != nil || c.get(a2) != nil || c.get(a3) != nil {
		t.Fatal("dropID kept a token of the jti")
	}
	if c.get(b) == nil || c.get(b2) == nil {
		t.Fatal("dropID dropped another token")
	}
	c.dropWhere(func(cl *Claims) bool { return cl.Subject == "bob" })
	if c.get(b) != nil || c.get(b2) != nil {
		t.Fatal("dropWhere kept a token of the subject")
	}
	if n := c.indexed(); n != 0 {
		t.Fatalf("the jti index still names %d tokens", n)
	}
}

// indexed returns how many tokens the jti index names.
func (c *cache) indexed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.byID)
	for _, l := range c.more {
		n += len(l)
	}
	return n
}
