package token

import (
	"crypto/sha256"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
	"unsafe"

	"github.com/gatehousehq/gatehouse/internal/ttlcache"
)

// cache holds verified claims keyed by the SHA-256 of the raw token, so a
// repeated token skips parsing and the signature check. It is bounded
// (otter evicts in constant time, by frequency and recency, through
// internal/ttlcache: a new token at capacity costs no scan), and an entry
// lives until the token's exp plus the verifier's leeway, when a full
// verification would refuse it too. An index by jti serves ForgetID;
// ForgetSubject visits the entries.
type cache struct {
	entries *ttlcache.Cache[cacheKey, *cacheEntry]
	leeway  time.Duration
	seed    maphash.Seed // of the jti hashes

	mu sync.Mutex
	// byID indexes the cached tokens by the hash of their jti: the first
	// token of a hash in byID, any further ones (the same jti, or another
	// of the same hash) in more. A removal finds its entry by the hash kept
	// in it, without reading the claims.
	byID map[uint64]indexed
	more map[uint64][]indexed
}

type cacheKey [sha256.Size]byte

type cacheEntry struct {
	claims *Claims
	kid    string
	thumb  string
	// idHash is the hash of claims.ID when hasID (the jti is not empty),
	// read on removal, where the claims are likely out of the CPU cache.
	idHash uint64
	hasID  bool
}

// indexed names an entry of the cache in byID.
type indexed struct {
	key   cacheKey
	entry *cacheEntry
}

// newCache returns a cache of at most size tokens on the verifier's clock
// and leeway.
func newCache(size int, now func() time.Time, leeway time.Duration) (*cache, error) {
	c := &cache{leeway: leeway, seed: maphash.MakeSeed(), byID: map[uint64]indexed{}, more: map[uint64][]indexed{}}
	entries, err := ttlcache.New(ttlcache.Options[cacheKey, *cacheEntry]{
		MaxEntries: size, Now: now, OnRemove: c.unindex,
	})
	if err != nil {
		return nil, fmt.Errorf("token: verified-token cache: %w", err)
	}
	c.entries = entries
	return c, nil
}

// key names raw in the cache. The hash reads the string's bytes in place
// (it neither keeps nor changes them): a hit allocates nothing.
func (c *cache) key(raw string) cacheKey {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

func (c *cache) get(k cacheKey) *cacheEntry {
	e, _ := c.entries.Get(k)
	return e
}

// put caches e under k. It is indexed first, so that its removal (which
// may come at once, when the cache is full) finds it in the index.
func (c *cache) put(k cacheKey, e *cacheEntry) {
	id := e.claims.ID
	if id != "" {
		e.idHash, e.hasID = maphash.String(c.seed, id), true
		c.mu.Lock()
		if _, taken := c.byID[e.idHash]; taken {
			c.more[e.idHash] = append(c.more[e.idHash], indexed{key: k, entry: e})
		} else {
			c.byID[e.idHash] = indexed{key: k, entry: e}
		}
		c.mu.Unlock()
	}
	if !c.entries.Set(k, e, e.claims.ExpiresAt.Time().Add(c.leeway)) && id != "" {
		c.unindex(k, e) // expired meanwhile: not stored
	}
}

// unindex removes e from the index; the cache calls it for every entry
// that leaves it, under the entry's bucket lock.
func (c *cache) unindex(_ cacheKey, e *cacheEntry) {
	if !e.hasID {
		return
	}
	h := e.idHash
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.more[h]
	if first := c.byID[h]; first.entry == e {
		if len(list) == 0 {
			delete(c.byID, h)
			return
		}
		c.byID[h] = list[len(list)-1] // the last of more moves up
		list = list[:len(list)-1]
	} else {
		for i, x := range list {
			if x.entry == e {
				list[i] = list[len(list)-1]
				list = list[:len(list)-1]
				break
			}
		}
	}
	if len(list) == 0 {
		delete(c.more, h)
	} else {
		c.more[h] = list
	}
}

func (c *cache) drop(k cacheKey) { c.entries.Delete(k) }

// dropID drops every cached token whose jti is jti.
func (c *cache) dropID(jti string) {
	h := maphash.String(c.seed, jti)
	c.mu.Lock()
	var keys []cacheKey
	if first, ok := c.byID[h]; ok {
		keys = append(keys, first.key)
	}
	for _, x := range c.more[h] {
		keys = append(keys, x.key)
	}
	c.mu.Unlock()
	for _, k := range keys { // outside mu: a removal takes it
		c.entries.DeleteIf(k, func(e *cacheEntry) bool { return e.claims.ID == jti })
	}
}

// dropWhere drops every cached token whose claims match.
func (c *cache) dropWhere(match func(*Claims) bool) {
	c.entries.DeleteWhere(func(_ cacheKey, e *cacheEntry) bool { return match(e.claims) })
}

func (c *cache) len() int {
	c.entries.CleanUp()
	return c.entries.Len()
}
