package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Which policies take local shares, and how large the largest is.
func TestSharesOnlyWhereEveryTokenDoesNotMatter(t *testing.T) {
	tests := []struct {
		p    Policy
		want int64
	}{
		{Policy{ReplenishRate: 0.01, BurstCapacity: 6}, 0},        // small burst
		{Policy{ReplenishRate: 100, BurstCapacity: 20}, 0},        // burst/16 = 1
		{Policy{ReplenishRate: 20, BurstCapacity: 1000}, 0},       // 20/s × 100 ms = 2
		{Policy{ReplenishRate: 40, BurstCapacity: 64}, 4},         // both just enough
		{Policy{ReplenishRate: 1000, BurstCapacity: 1000}, 62},    // burst/16
		{Policy{ReplenishRate: 1000, BurstCapacity: 100000}, 100}, // rate × 100 ms
		{Policy{ReplenishRate: 1000, BurstCapacity: 1000, RequestedTokens: 10}, 6},
		{Policy{ReplenishRate: 1, BurstCapacity: 0}, 0}, // deny all
	}
	for _, tt := range tests {
		g, err := tt.p.gcra()
		if err != nil {
			t.Fatal(err)
		}
		if got := newShares(g, tt.p, true).max; got != tt.want {
			t.Errorf("%+v: largest share %d, want %d", tt.p, got, tt.want)
		}
		if got := newShares(g, tt.p, false).max; got != 0 {
			t.Errorf("%+v: shares off, yet largest share %d", tt.p, got)
		}
	}
}

// The life of one share, on a clock of the test's own.
func TestShareLifecycle(t *testing.T) {
	s := &shares{max: 64}
	sh := s.get("k")
	t0 := time.Unix(1000, 0)

	// Empty: ask Redis, and ask for a first share along.
	ok, _, ask, back, _ := sh.take(1, t0)
	if ok || ask != firstShare || back != 0 {
		t.Fatalf("empty share: ok %v ask %d back %d", ok, ask, back)
	}
	// A second request meanwhile asks Redis for itself only.
	if ok, _, ask2, _, _ := sh.take(1, t0); ok || ask2 != 0 {
		t.Fatalf("while a share is on its way: ok %v ask %d, want a plain round trip", ok, ask2)
	}
	sh.granted(ask, true, 9e6, t0)

	// Decided locally until it runs low; then one background fetch.
	refills := 0
	for i := range firstShare {
		ok, d, a, _, refill := sh.take(1, t0.Add(time.Millisecond))
		if !ok {
			t.Fatalf("request %d not decided from the share", i)
		}
		if d.left != int64(firstShare-1-i) {
			t.Fatalf("request %d: %d left", i, d.left)
		}
		if refill {
			refills++
			if a != firstShare {
				t.Fatalf("refill of %d", a)
			}
		}
	}
	if refills != 1 {
		t.Fatalf("%d background fetches, want 1", refills)
	}
	// Used up before its end, with the fetch lost: the next share doubles.
	sh.granted(firstShare, false, 0, t0)
	if ok, _, ask, _, _ := sh.take(1, t0.Add(2*time.Millisecond)); ok || ask != 2*firstShare {
		t.Fatalf("after a share used up early: ok %v ask %d, want %d", ok, ask, 2*firstShare)
	}
	sh.granted(2*firstShare, true, 0, t0.Add(2*time.Millisecond))

	// Expired mostly unused: what is left is given back, the next is halved.
	ok, _, ask, back, _ = sh.take(1, t0.Add(time.Second))
	if ok || back != 2*firstShare || ask != firstShare {
		t.Fatalf("expired share: ok %v back %d ask %d, want back %d and ask %d", ok, back, ask, 2*firstShare, firstShare)
	}
	// Never smaller than minShare, never larger than the limit.
	sh.granted(ask, true, 0, t0.Add(time.Second))
	for range 10 {
		sh.size = max(sh.size/2, minShare)
	}
	if sh.size != minShare {
		t.Fatalf("size %d", sh.size)
	}
	for range 10 {
		sh.mu.Lock()
		sh.left, sh.expires, sh.fetching = 0, t0.Add(time.Hour), false
		sh.mu.Unlock()
		sh.take(1, t0)
	}
	if sh.size != 64 {
		t.Fatalf("size grew to %d, want the limit 64", sh.size)
	}
}

func TestSharesAreBounded(t *testing.T) {
	s := &shares{max: 8}
	for i := range maxShareKeys {
		sh := s.get(string(rune(i + 1)))
		sh.mu.Lock()
		sh.left, sh.expires = 1, time.Now().Add(time.Hour)
		sh.mu.Unlock()
	}
	if s.get("one more") != nil {
		t.Fatal("a share past maxShareKeys")
	}
	// Once some have nothing left, the sweep makes room.
	s.m.Range(func(_, v any) bool {
		v.(*share).left = 0
		return false
	})
	if s.get("one more") == nil {
		t.Fatal("no room after the sweep")
	}
}

// The script gives an unused share back before it decides, and taking a
// share along never turns an allowed request into a refused one.
func TestRedisScriptGivesBackAndSharesOnlyWithRoom(t *testing.T) {
	c := newRedisClient(t)
	prefix := testPrefix(t, c)
	p := Policy{Name: "gb", ReplenishRate: 0.01, BurstCapacity: 10}
	r := newRedisLimiter(t, c, prefix, p, WithLocalShares(false))
	ctx := context.Background()
	key := r.prefix + storedKey("k")
	per := r.g.requested * r.g.interval

	res, err := r.run(ctx, key, 5*per, 0, 0)
	if err != nil || res[0] != 1 {
		t.Fatalf("take 5: %v %v", res, err)
	}
	if res, err = r.run(ctx, key, 0, 0, 3); err != nil || res[0] != 1 {
		t.Fatalf("give back 3: %v %v", res, err)
	}
	if d := allow(t, r, "k", 1); !d.Allowed || d.Remaining != 7 {
		t.Fatalf("after 5 taken and 3 given back, then 1: %+v, want 7 remaining", d)
	}
	// A share that does not fit is not taken; the request still passes.
	res, err = r.run(ctx, key, per, 100, 0)
	if err != nil || res[0] != 1 || res[3] != 0 {
		t.Fatalf("share larger than the room: %v %v, want allowed without the share", res, err)
	}
	res, err = r.run(ctx, key, per, 2, 0)
	if err != nil || res[0] != 1 || res[3] != 1 {
		t.Fatalf("share that fits: %v %v, want allowed with the share", res, err)
	}
	if d := allow(t, r, "k", 1); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after 1 + (1+2): %+v, want 2 remaining", d)
	}
	// A give-back with a refused request is kept.
	if res, err = r.run(ctx, key, 2*per, 0, 0); err != nil || res[0] != 1 {
		t.Fatalf("take the last 2: %v %v", res, err)
	}
	if res, err = r.run(ctx, key, 3*per, 0, 2); err != nil || res[0] != 0 {
		t.Fatalf("give back 2 and take 3 from an empty bucket: %v %v, want refused", res, err)
	}
	if d := allow(t, r, "k", 1); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("after a refused request gave 2 back: %+v, want allowed with 1 remaining", d)
	}
	// Giving back to a full bucket leaves no state.
	full := r.prefix + storedKey("full")
	if _, err := r.run(ctx, full, 0, 0, 5); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Exists(ctx, full).Result(); n != 0 {
		t.Fatal("a give-back to a full bucket wrote state")
	}
}

// Below the limit, a busy key is decided mostly in process: far fewer
// round trips than requests, every request allowed.
func TestRedisLocalSharesTakeRoundTripsOffBelowTheLimit(t *testing.T) {
	c := newRedisClient(t)
	r := newRedisLimiter(t, c, testPrefix(t, c), Policy{ReplenishRate: 1e6, BurstCapacity: 1_000_000})
	const n = 5000
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range n / 8 {
				if d := allow(t, r, "client_id:web-app", 1); !d.Allowed || d.Degraded {
					t.Errorf("refused below the limit: %+v", d)
					return
				}
			}
		})
	}
	wg.Wait()
	st := r.Stats()
	t.Logf("%d requests: %d round trips, %d decided locally", n, st.RoundTrips, st.Local)
	if st.RoundTrips > n/10 {
		t.Errorf("%d round trips for %d requests, want at most a tenth", st.RoundTrips, n)
	}
	if st.Local+st.RoundTrips < n {
		t.Errorf("counters: %+v", st)
	}
}

// Two instances hammering one key with shares on, past the limit, admit
// what the limit allows, within 5 %: shares never let instances pass more,
// and near the limit they are not taken.
func TestRedisLocalSharesKeepTheSharedRate(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 2 s")
	}
	c1, c2 := newRedisClient(t), newRedisClient(t)
	prefix := testPrefix(t, c1)
	p := Policy{ReplenishRate: 500, BurstCapacity: 400} // shares of up to 25
	lims := []*Redis{newRedisLimiter(t, c1, prefix, p), newRedisLimiter(t, c2, prefix, p)}
	if lims[0].shares.max < minShare {
		t.Fatal("the policy takes no shares: the test would prove nothing")
	}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(2 * time.Second)
	for i := range 6 {
		lim := lims[i%2]
		wg.Go(func() {
			for time.Now().Before(deadline) {
				d, err := lim.Allow(context.Background(), "k", 1)
				if err != nil || d.Degraded {
					t.Errorf("Allow: %+v, %v", d, err)
					return
				}
				if d.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	want := 400 + 500*elapsed
	got := float64(allowed.Load())
	t.Logf("allowed %v in %.3fs, limit allows %.1f; local decisions %d + %d", got, elapsed, want, lims[0].Stats().Local, lims[1].Stats().Local)
	if got < want*0.95 || got > want*1.05 {
		t.Errorf("allowed %v, want %.1f ± 5%%", got, want)
	}
	if lims[0].Stats().Local+lims[1].Stats().Local == 0 {
		t.Error("no decision was made from a share: the burst should have been shared out")
	}
}
