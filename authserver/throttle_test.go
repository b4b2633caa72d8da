package authserver

import (
	"context"
	"sync"
	"testing"
	"time"
)

// ctx is ended: a reservation that would wait for attempts in flight
// returns at once.
var ctx = func() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}()

// failN reserves and fails n attempts for keys, one after the other.
func failN(t *testing.T, th *throttle, n int, keys ...string) {
	t.Helper()
	for i := 0; i < n; i++ {
		a, wait := th.reserve(ctx, keys...)
		if a == nil {
			t.Fatalf("attempt %d of %v refused (wait %s)", i+1, keys, wait)
		}
		a.fail()
	}
}

func TestThrottleGrowsAndResets(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(ThrottleConfig{Free: 3, Base: time.Second, Max: time.Minute}, time.Hour, func() time.Time { return now })
	failN(t, th, 2, "user:alice", "ip:1.2.3.4")
	if d := th.refuses("user:alice", "ip:1.2.3.4"); d != 0 {
		t.Fatalf("blocked after 2 failures: %s", d)
	}
	failN(t, th, 1, "user:alice", "ip:1.2.3.4")
	if d := th.refuses("user:alice"); d != time.Second {
		t.Fatalf("after 3 failures: wait %s, want 1s", d)
	}
	now = now.Add(time.Second)
	failN(t, th, 1, "user:alice")
	if d := th.refuses("user:alice"); d != 2*time.Second {
		t.Fatalf("after 4 failures: wait %s, want 2s", d)
	}
	for i := 0; i < 30; i++ {
		now = now.Add(time.Minute)
		failN(t, th, 1, "user:alice")
	}
	if d := th.refuses("user:alice"); d != time.Minute {
		t.Fatalf("wait %s, want the 1m cap", d)
	}
	// The IP has its own, larger allowance: bob behind the same address is
	// not locked out by alice's failures.
	if d := th.refuses("user:bob", "ip:1.2.3.4"); d != 0 {
		t.Fatalf("shared IP blocked after one account's failures: %s", d)
	}
	now = now.Add(time.Minute)
	a, _ := th.reserve(ctx, "user:alice", "ip:1.2.3.4")
	a.succeed("user:alice")
	if d := th.refuses("user:alice"); d != 0 {
		t.Fatalf("success did not reset: %s", d)
	}
}

// TestThrottleCountsAttemptsInFlight is the race of issue #13: attempts
// reserved at once, before any has failed, count as they start.
func TestThrottleCountsAttemptsInFlight(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(ThrottleConfig{Free: 5, Base: time.Second, Max: time.Minute}, time.Hour, func() time.Time { return now })
	var (
		mu      sync.Mutex
		granted []*attempt
		wg      sync.WaitGroup
	)
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a, _ := th.reserve(ctx, "user:alice", "ip:1.2.3.4"); a != nil {
				mu.Lock()
				granted = append(granted, a)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(granted) != 5 {
		t.Fatalf("%d of 40 parallel attempts reserved, want Free = 5", len(granted))
	}
	// A released attempt (the check did not run) frees its place.
	granted[0].release()
	if a, _ := th.reserve(ctx, "user:alice"); a == nil {
		t.Fatal("a released place was not given again")
	} else {
		granted[0] = a
	}
	for _, a := range granted {
		a.fail()
	}
	if d := th.refuses("user:alice"); d != time.Second {
		t.Fatalf("after 5 failures: wait %s, want 1s", d)
	}
	// Once the delay is over, one attempt at a time.
	now = now.Add(time.Second)
	a, _ := th.reserve(ctx, "user:alice")
	if a == nil {
		t.Fatal("refused after the delay")
	}
	if b, _ := th.reserve(ctx, "user:alice"); b != nil {
		t.Fatal("a second attempt in flight after the allowance was spent")
	}
	a.fail()
	if d := th.refuses("user:alice"); d != 2*time.Second {
		t.Fatalf("after 6 failures: wait %s, want 2s", d)
	}
}

// TestThrottleWaitsForAttemptsInFlight: a reservation held back only by
// attempts in flight goes ahead when one of them succeeds, and meets the
// delay when they fail.
func TestThrottleWaitsForAttemptsInFlight(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(ThrottleConfig{Free: 1, Base: time.Minute, Max: time.Hour}, time.Hour, func() time.Time { return now })
	first, _ := th.reserve(ctx, "client:svc")
	got := make(chan *attempt)
	go func() {
		a, _ := th.reserve(context.Background(), "client:svc")
		got <- a
	}()
	// The waiter holds no place: with the one place taken, it waits.
	first.succeed("client:svc")
	if a := <-got; a == nil {
		t.Fatal("a reservation waiting for a good attempt was refused")
	} else {
		a.fail()
	}
	// Now a failure is counted: the next one meets the delay, at once.
	if a, wait := th.reserve(context.Background(), "client:svc"); a != nil || wait != time.Minute {
		t.Fatalf("after a failure with Free 1: %v, wait %s; want refused, 1m", a, wait)
	}
}
