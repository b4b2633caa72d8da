package ratelimit

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The memory limiter against its floor: reading the clock, then a
// mutex-guarded map lookup and store.
func BenchmarkMemoryAllow(b *testing.B) {
	m, err := NewMemory(Policy{ReplenishRate: 1e6, BurstCapacity: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Allow(ctx, "client_id:web-app", 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryAllowParallelKeys(b *testing.B) {
	m, err := NewMemory(Policy{ReplenishRate: 1e6, BurstCapacity: 1_000_000})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = Key("ip", "10.1."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256))
	}
	var next atomic.Uint64
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(7919)
		for pb.Next() {
			i++
			if _, err := m.Allow(ctx, keys[i%uint64(len(keys))], 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkMemoryFloorMapUnderMutex(b *testing.B) {
	var mu sync.Mutex
	tats := map[string]int64{}
	base := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		now := int64(time.Since(base))
		mu.Lock()
		tats["client_id:web-app"] = max(tats["client_id:web-app"], now) + 1
		mu.Unlock()
	}
}

// The Redis limiter against its floor: one PING round trip.
func BenchmarkRedisAllow(b *testing.B) {
	c := newRedisClient(b)
	r := newRedisLimiter(b, c, testPrefix(b, c), Policy{ReplenishRate: 1e6, BurstCapacity: 1_000_000})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := r.Allow(ctx, "client_id:web-app", 1)
		if err != nil || d.Degraded {
			b.Fatal(d, err)
		}
	}
}

// Many goroutines on one busy key that stays below its limit (the
// gateway's per-client limit), with local shares (the default) and with a
// round trip per decision; BenchmarkMemoryAllowParallelKeys is the floor.
func BenchmarkRedisAllowParallel(b *testing.B) {
	for _, mode := range []struct {
		name   string
		shares bool
	}{{"shares", true}, {"exact", false}} {
		b.Run(mode.name, func(b *testing.B) {
			c := newRedisClient(b)
			r := newRedisLimiter(b, c, testPrefix(b, c), Policy{ReplenishRate: 1e6, BurstCapacity: 1_000_000}, WithLocalShares(mode.shares))
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					d, err := r.Allow(ctx, "client_id:web-app", 1)
					if err != nil || d.Degraded || !d.Allowed {
						b.Error(d, err)
						return
					}
				}
			})
			st := r.Stats()
			b.ReportMetric(float64(st.RoundTrips)/float64(b.N), "trips/op")
		})
	}
}

func BenchmarkRedisFloorPing(b *testing.B) {
	c := newRedisClient(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Key("ip", "192.0.2.1")
	}
}

func BenchmarkKeyEscaped(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = Key("ip", "2001:db8::1")
	}
}

func BenchmarkWriteHeaders(b *testing.B) {
	d := Decision{Allowed: true, Remaining: 7, ResetAfter: 1300000000, Limit: Policy{Name: "orders", ReplenishRate: 10, BurstCapacity: 20}}
	b.ReportAllocs()
	for b.Loop() {
		WriteHeaders(make(http.Header, 2), d)
	}
}
