package cache_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehousehq/gatehouse/cache"
)

// BenchmarkGetLocalHit is the cost of a lookup answered by the local tier;
// "floor" is a sync.Map load of the same key, the least a concurrent
// in-process lookup costs.
func BenchmarkGetLocalHit(b *testing.B) {
	ctx := context.Background()
	b.Run("floor", func(b *testing.B) {
		var m sync.Map
		m.Store("alice", "v1")
		for b.Loop() {
			if _, ok := m.Load("alice"); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("cache", func(b *testing.B) {
		mem, err := cache.NewMemory()
		if err != nil {
			b.Fatal(err)
		}
		c, err := cache.New[string]("users", mem)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		load := func(context.Context) (string, error) { return "v1", nil }
		c.Get(ctx, "alice", load)
		for b.Loop() {
			if _, err := c.Get(ctx, "alice", load); err != nil {
				b.Fatal(err)
			}
		}
	})
}
