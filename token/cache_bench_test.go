package token

import (
	"crypto/rand"
	"fmt"
	"testing"
	"time"
)

// BenchmarkCachePut is the cache's own cost of a new token when it is full
// (size entries, every put evicts one): the key's hash and the put.
func BenchmarkCachePut(b *testing.B) {
	for _, size := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("%dk", size/1000), func(b *testing.B) {
			c, err := newCache(size, time.Now, DefaultLeeway)
			if err != nil {
				b.Fatal(err)
			}
			exp := At(time.Now().Add(time.Hour))
			raws := make([]string, 2*size)
			for i := range raws {
				raws[i] = rand.Text() + rand.Text()
			}
			for _, raw := range raws[:size] {
				c.put(c.key(raw), &cacheEntry{claims: &Claims{ID: raw, ExpiresAt: exp}})
			}
			i := size
			b.ReportAllocs()
			for b.Loop() {
				raw := raws[i%len(raws)]
				i++
				c.put(c.key(raw), &cacheEntry{claims: &Claims{ID: raw, ExpiresAt: exp}})
			}
		})
	}
}
