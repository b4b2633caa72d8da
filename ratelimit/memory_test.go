package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// step is one Allow call and what it must answer.
type step struct {
	advance    time.Duration // clock moves first
	n          int
	allowed    bool
	remaining  int
	retryAfter time.Duration
	resetAfter time.Duration
}

func runSteps(t *testing.T, lim Limiter, clk *fakeClock, steps []step) {
	t.Helper()
	for i, s := range steps {
		clk.Advance(s.advance)
		d := allow(t, lim, "k", s.n)
		if d.Allowed != s.allowed || d.Remaining != s.remaining || d.RetryAfter != s.retryAfter || d.ResetAfter != s.resetAfter {
			t.Fatalf("step %d (+%v, n=%d): got allowed=%v remaining=%d retry=%v reset=%v, want %v %d %v %v",
				i, s.advance, s.n, d.Allowed, d.Remaining, d.RetryAfter, d.ResetAfter,
				s.allowed, s.remaining, s.retryAfter, s.resetAfter)
		}
	}
}

func TestMemoryBurstThenSteadyRate(t *testing.T) {
	// Spring's example: 10 tokens/s, bursts of 5.
	m, clk := newMemory(t, Policy{ReplenishRate: 10, BurstCapacity: 5})
	ms := time.Millisecond
	runSteps(t, m, clk, []step{
		{0, 1, true, 4, 0, 100 * ms},
		{0, 1, true, 3, 0, 200 * ms},
		{0, 1, true, 2, 0, 300 * ms},
		{0, 1, true, 1, 0, 400 * ms},
		{0, 1, true, 0, 0, 500 * ms},
		{0, 1, false, 0, 100 * ms, 500 * ms}, // burst spent: exactly one interval to wait
		{99 * ms, 1, false, 0, 1 * ms, 401 * ms},
		{1 * ms, 1, true, 0, 0, 500 * ms}, // one token earned, spent
		{0, 1, false, 0, 100 * ms, 500 * ms},
		// steady rate: one request every 100 ms passes, forever
		{100 * ms, 1, true, 0, 0, 500 * ms},
		{100 * ms, 1, true, 0, 0, 500 * ms},
		{50 * ms, 1, false, 0, 50 * ms, 450 * ms},
		// idle for long: the bucket is full again, not fuller
		{time.Hour, 1, true, 4, 0, 100 * ms},
	})
}

func TestMemoryRequestedTokens(t *testing.T) {
	// Spring's one request per minute: rate 1, burst 60, 60 tokens per request.
	m, clk := newMemory(t, Policy{ReplenishRate: 1, BurstCapacity: 60, RequestedTokens: 60})
	runSteps(t, m, clk, []step{
		{0, 1, true, 0, 0, time.Minute},
		{0, 1, false, 0, time.Minute, time.Minute},
		{59*time.Second + 999*time.Millisecond, 1, false, 0, time.Millisecond, time.Millisecond},
		{time.Millisecond, 1, true, 0, 0, time.Minute},
	})

	// 2 tokens per request: remaining counts requests, not tokens.
	m, clk = newMemory(t, Policy{ReplenishRate: 4, BurstCapacity: 10, RequestedTokens: 2})
	ms := time.Millisecond
	runSteps(t, m, clk, []step{
		{0, 1, true, 4, 0, 500 * ms},
		{0, 2, true, 2, 0, 1500 * ms},
		{0, 3, false, 2, 500 * ms, 1500 * ms}, // 6 tokens wanted, 4 held: wait for 2
		{500 * ms, 3, true, 0, 0, 2500 * ms},
		{0, 1, false, 0, 500 * ms, 2500 * ms},
	})
}

func TestMemoryCount(t *testing.T) {
	m, _ := newMemory(t, Policy{ReplenishRate: 1, BurstCapacity: 10})
	for _, n := range []int{0, -1} {
		if _, err := m.Allow(context.Background(), "k", n); !errors.Is(err, ErrInvalidCount) {
			t.Errorf("Allow(n=%d) = %v, want ErrInvalidCount", n, err)
		}
	}
	// More than the whole burst: refused, and waiting would not help.
	d := allow(t, m, "k", 11)
	if d.Allowed || d.RetryAfter != 0 {
		t.Errorf("n > burst: %+v, want refused with RetryAfter 0", d)
	}
	// It took nothing.
	if d := allow(t, m, "k", 10); !d.Allowed || d.Remaining != 0 {
		t.Errorf("n = burst after the refusal: %+v, want allowed, 0 left", d)
	}
}

func TestMemoryDenyAll(t *testing.T) {
	m, clk := newMemory(t, Policy{BurstCapacity: 0})
	for range 3 {
		d := allow(t, m, "k", 1)
		if d.Allowed || d.RetryAfter != 0 || d.Remaining != 0 {
			t.Fatalf("deny-all: %+v", d)
		}
		clk.Advance(time.Hour)
	}
	if m.Len() != 0 {
		t.Errorf("deny-all stored %d keys", m.Len())
	}
}

func TestMemoryFractionalRate(t *testing.T) {
	m, clk := newMemory(t, Policy{ReplenishRate: 0.5, BurstCapacity: 1})
	runSteps(t, m, clk, []step{
		{0, 1, true, 0, 0, 2 * time.Second},
		{time.Second, 1, false, 0, time.Second, time.Second},
		{time.Second, 1, true, 0, 0, 2 * time.Second},
	})
}

func TestMemoryRoundedInterval(t *testing.T) {
	// 3/s: the interval rounds to 333,333,333 ns; a burst of 3 still passes
	// whole and the fourth is refused.
	m, _ := newMemory(t, Policy{ReplenishRate: 3, BurstCapacity: 3})
	for i := range 3 {
		if d := allow(t, m, "k", 1); !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	if d := allow(t, m, "k", 1); d.Allowed || d.RetryAfter != 333333333 {
		t.Fatalf("fourth: %+v", d)
	}
}

func TestMemoryKeysAreIndependent(t *testing.T) {
	m, _ := newMemory(t, Policy{ReplenishRate: 1, BurstCapacity: 3})
	for i := range 1000 {
		key := Key("ip", fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		for j := range 3 {
			if d := allow(t, m, key, 1); !d.Allowed {
				t.Fatalf("key %d request %d refused", i, j)
			}
		}
		if d := allow(t, m, key, 1); d.Allowed {
			t.Fatalf("key %d: fourth request allowed", i)
		}
	}
	if got := m.Len(); got != 1000 {
		t.Errorf("Len = %d, want 1000", got)
	}
}

func TestMemoryLongKeys(t *testing.T) {
	m, _ := newMemory(t, Policy{ReplenishRate: 1, BurstCapacity: 1})
	long := strings.Repeat("x", 10_000)
	if d := allow(t, m, long+"a", 1); !d.Allowed {
		t.Fatal("first long key refused")
	}
	if d := allow(t, m, long+"b", 1); !d.Allowed {
		t.Fatal("second long key shares the first one's bucket")
	}
	if d := allow(t, m, long+"a", 1); d.Allowed {
		t.Fatal("long key has a new bucket on its second request")
	}
	hashed := storedKey(long + "a")
	if len(hashed) != maxStoredKey+1 || hashed[0] != '#' {
		t.Errorf("storedKey = %q", hashed)
	}
	// A short key spelled like a hashed one is still a key of its own.
	if storedKey(hashed[:maxStoredKey]) != hashed[:maxStoredKey] {
		t.Error("64-byte key was hashed")
	}
}

func TestMemoryEvictionBound(t *testing.T) {
	const maxKeys = 100
	// Slow rate: every key stays active (not full) for the whole test, so
	// room is made by evicting active keys.
	m, clk := newMemory(t, Policy{ReplenishRate: 0.001, BurstCapacity: 2}, WithMaxKeys(maxKeys))
	for i := range 10_000 {
		if d := allow(t, m, fmt.Sprint("k", i), 1); !d.Allowed {
			t.Fatalf("new key %d refused", i)
		}
		if got := m.Len(); got > maxKeys {
			t.Fatalf("after %d keys Len = %d > %d", i+1, got, maxKeys)
		}
	}
	// Idle keys make room before active ones and go away as new keys come.
	clk.Advance(time.Hour) // 2 tokens at 0.001/s take 2000 s: all full now
	for i := range 1000 {
		allow(t, m, fmt.Sprint("fresh", i), 1)
	}
	if got := m.Len(); got > maxKeys {
		t.Fatalf("Len = %d > %d", got, maxKeys)
	}
}

func TestMemoryIdleKeysSwept(t *testing.T) {
	m, clk := newMemory(t, Policy{ReplenishRate: 100, BurstCapacity: 1}, WithMaxKeys(1_000_000))
	for i := range 5000 {
		allow(t, m, fmt.Sprint("old", i), 1)
	}
	clk.Advance(time.Second) // every bucket full again: all idle
	for i := range 5000 {
		allow(t, m, fmt.Sprint("new", i), 1)
	}
	// Each new key drops the idle ones among the two it samples.
	if got := m.Len(); got > 8000 {
		t.Errorf("Len = %d: idle keys were not swept as new keys came", got)
	}
	t.Logf("Len after 5000 idle + 5000 new keys: %d", m.Len())
}

func TestMemoryOptions(t *testing.T) {
	p := Policy{ReplenishRate: 1, BurstCapacity: 1}
	if _, err := NewMemory(p, WithMaxKeys(0)); err == nil {
		t.Error("WithMaxKeys(0) accepted")
	}
	if _, err := NewMemory(p, WithClock(nil)); err == nil {
		t.Error("WithClock(nil) accepted")
	}
	m, err := NewMemory(p, WithMaxKeys(1))
	if err != nil {
		t.Fatal(err)
	}
	allow(t, m, "a", 1)
	allow(t, m, "b", 1)
	if m.Len() != 1 {
		t.Errorf("WithMaxKeys(1): Len = %d", m.Len())
	}
	if m.Policy() != p {
		t.Errorf("Policy() = %+v", m.Policy())
	}
}

func TestMemoryClockStepsBack(t *testing.T) {
	m, clk := newMemory(t, Policy{ReplenishRate: 1, BurstCapacity: 2})
	allow(t, m, "k", 2)
	clk.Advance(-time.Hour)
	// The bucket counts as empty, not as an hour in debt.
	d := allow(t, m, "k", 1)
	if d.Allowed || d.RetryAfter != time.Second {
		t.Fatalf("after the clock stepped back: %+v, want a 1 s wait", d)
	}
}

func TestMemoryConcurrent(t *testing.T) {
	const burst = 20
	m, err := NewMemory(Policy{ReplenishRate: 0.001, BurstCapacity: burst})
	if err != nil {
		t.Fatal(err)
	}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			for range 4 {
				d, err := m.Allow(context.Background(), "shared", 1)
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != burst {
		t.Errorf("%d of 200 concurrent requests allowed, want exactly %d", got, burst)
	}
}
