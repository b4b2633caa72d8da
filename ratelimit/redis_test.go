package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisBurstThenRefuse(t *testing.T) {
	c := newRedisClient(t)
	prefix := testPrefix(t, c)
	// 0.01 tokens/s: nothing refills during the test, so counts are exact.
	r := newRedisLimiter(t, c, prefix, Policy{Name: "burst", ReplenishRate: 0.01, BurstCapacity: 5})
	for i := range 5 {
		d := allow(t, r, "k", 1)
		if !d.Allowed || d.Remaining != 4-i || d.Degraded {
			t.Fatalf("request %d: %+v", i, d)
		}
		if want := time.Duration(i+1) * 100 * time.Second; d.ResetAfter > want || d.ResetAfter < want-time.Second {
			t.Errorf("request %d: ResetAfter %v, want about %v", i, d.ResetAfter, want)
		}
	}
	d := allow(t, r, "k", 1)
	if d.Allowed || d.Remaining != 0 {
		t.Fatalf("sixth: %+v", d)
	}
	// One interval (100 s), less the little time the test has taken.
	if d.RetryAfter > 100*time.Second || d.RetryAfter < 99*time.Second {
		t.Errorf("RetryAfter = %v, want about 100s", d.RetryAfter)
	}
	// The state is one key, expiring when the bucket would be full again.
	ttl, err := c.PTTL(context.Background(), prefix+"burst:k").Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > 500*time.Second || ttl < 499*time.Second {
		t.Errorf("PTTL = %v, want about 500s", ttl)
	}
	// Another key has its own bucket.
	if d := allow(t, r, "other", 1); !d.Allowed || d.Remaining != 4 {
		t.Errorf("other key: %+v", d)
	}
}

func TestRedisSteadyRate(t *testing.T) {
	c := newRedisClient(t)
	r := newRedisLimiter(t, c, testPrefix(t, c), Policy{ReplenishRate: 20, BurstCapacity: 1})
	if d := allow(t, r, "k", 1); !d.Allowed {
		t.Fatalf("first: %+v", d)
	}
	d := allow(t, r, "k", 1)
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 50*time.Millisecond {
		t.Fatalf("second: %+v, want refused for at most 50ms", d)
	}
	time.Sleep(d.RetryAfter)
	if d := allow(t, r, "k", 1); !d.Allowed {
		t.Fatalf("after RetryAfter: %+v", d)
	}
}

func TestRedisRequestedTokensAndCount(t *testing.T) {
	c := newRedisClient(t)
	r := newRedisLimiter(t, c, testPrefix(t, c), Policy{ReplenishRate: 0.01, BurstCapacity: 10, RequestedTokens: 2})
	if d := allow(t, r, "k", 2); !d.Allowed || d.Remaining != 3 {
		t.Fatalf("n=2: %+v", d)
	}
	if d := allow(t, r, "k", 4); d.Allowed || d.Remaining != 3 || d.RetryAfter < 199*time.Second {
		t.Fatalf("n=4 with 3 left: %+v, want refused for about 200s", d)
	}
	if d := allow(t, r, "k", 6); d.Allowed || d.RetryAfter != 0 {
		t.Fatalf("n=6 > burst: %+v, want refused, RetryAfter 0", d)
	}
	if _, err := r.Allow(context.Background(), "k", 0); !errors.Is(err, ErrInvalidCount) {
		t.Fatalf("n=0: %v", err)
	}
	if d := allow(t, r, "k", 3); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("n=3: %+v", d)
	}
}

func TestRedisDenyAllNeedsNoRedis(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	r, err := NewRedis(c, Policy{Name: "closed"}, WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	d := allow(t, r, "k", 1)
	if d.Allowed || d.Degraded || r.Stats().Failures != 0 {
		t.Fatalf("deny-all: %+v, %+v", d, r.Stats())
	}
}

// Two limiters on two clients (two gateway instances) share one bucket.
func TestRedisSharedAcrossClients(t *testing.T) {
	c1, c2 := newRedisClient(t), newRedisClient(t)
	prefix := testPrefix(t, c1)
	p := Policy{Name: "shared", ReplenishRate: 0.01, BurstCapacity: 6}
	a := newRedisLimiter(t, c1, prefix, p)
	b := newRedisLimiter(t, c2, prefix, p)
	allowed := 0
	for i := range 20 {
		lim := a
		if i%2 == 1 {
			lim = b
		}
		if allow(t, lim, "client-1", 1).Allowed {
			allowed++
		}
	}
	if allowed != 6 {
		t.Errorf("%d requests allowed through two instances, want the one burst of 6", allowed)
	}
	// A different name (or prefix) is a different limit.
	other := newRedisLimiter(t, c1, prefix, Policy{Name: "other", ReplenishRate: 0.01, BurstCapacity: 6})
	if !allow(t, other, "client-1", 1).Allowed {
		t.Error("a policy of another name shares the bucket")
	}
}

func TestRedisConcurrent(t *testing.T) {
	c := newRedisClient(t)
	const burst = 17
	r := newRedisLimiter(t, c, testPrefix(t, c), Policy{ReplenishRate: 0.01, BurstCapacity: burst})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 50 {
		wg.Go(func() {
			<-start
			d, err := r.Allow(context.Background(), "hot", 1)
			if err != nil || d.Degraded {
				t.Errorf("Allow: %+v, %v", d, err)
				return
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != burst {
		t.Errorf("%d of 50 concurrent requests allowed, want exactly %d", got, burst)
	}
}

// Over 2 s, two instances hammering one key admit the burst plus the rate
// times the elapsed time, within 5 %.
func TestRedisSharedRateOverTime(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 2 s")
	}
	c1, c2 := newRedisClient(t), newRedisClient(t)
	prefix := testPrefix(t, c1)
	p := Policy{ReplenishRate: 100, BurstCapacity: 20}
	lims := []*Redis{newRedisLimiter(t, c1, prefix, p), newRedisLimiter(t, c2, prefix, p)}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(2 * time.Second)
	for i := range 4 {
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
	want := 20 + 100*elapsed
	got := float64(allowed.Load())
	t.Logf("allowed %v in %.3fs, limit allows %.1f", got, elapsed, want)
	if got < want*0.95 || got > want*1.05 {
		t.Errorf("allowed %v, want %.1f ± 5%%", got, want)
	}
}

func TestRedisScriptReloadedAfterFlush(t *testing.T) {
	c := newRedisClient(t)
	r := newRedisLimiter(t, c, testPrefix(t, c), Policy{ReplenishRate: 1, BurstCapacity: 5})
	allow(t, r, "k", 1)
	if err := c.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	d := allow(t, r, "k", 1) // EVALSHA answers NOSCRIPT; EVAL runs and loads it
	if !d.Allowed || d.Degraded || d.Remaining != 3 {
		t.Fatalf("after SCRIPT FLUSH: %+v", d)
	}
	ok, err := c.ScriptExists(context.Background(), gcraScript.Hash()).Result()
	if err != nil || !ok[0] {
		t.Fatalf("script not cached again: %v %v", ok, err)
	}
}

func TestRedisCallerContextEnded(t *testing.T) {
	c := newRedisClient(t)
	r := newRedisLimiter(t, c, testPrefix(t, c), Policy{ReplenishRate: 1, BurstCapacity: 5})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Allow(ctx, "k", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("Allow with a canceled context: %v", err)
	}
	if s := r.Stats(); s.Failures != 0 {
		t.Errorf("a canceled caller counted as a Redis failure: %+v", s)
	}
}

func TestRedisUnreachable(t *testing.T) {
	for _, mode := range []FailureMode{FailOpen, FailClosed} {
		t.Run(mode.String(), func(t *testing.T) {
			c, err := openRedis("redis://127.0.0.1:1/0")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var logs logBuffer
			opts := []RedisOption{WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), WithTimeout(5 * time.Second)}
			if mode == FailClosed {
				opts = append(opts, WithFailureMode(FailClosed))
			}
			r, err := NewRedis(c, Policy{Name: "unreachable", ReplenishRate: 1, BurstCapacity: 1}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for i := range 3 { // the burst is 1: a counting limiter would refuse twice
				d := allow(t, r, "k", 1)
				if !d.Degraded || d.Allowed != (mode == FailOpen) {
					t.Fatalf("call %d: %+v", i, d)
				}
				if mode == FailClosed && d.RetryAfter != time.Second {
					t.Errorf("fail closed: RetryAfter %v", d.RetryAfter)
				}
			}
			// A refused connection fails at once: no retries, no 5 s timeout.
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("3 decisions without Redis took %v", took)
			}
			if s := r.Stats(); s.Failures != 3 || !s.Failing {
				t.Errorf("Stats = %+v, want 3 failures, failing", s)
			}
			out := logs.String()
			if n := strings.Count(out, "level=WARN"); n != 1 {
				t.Errorf("%d warnings for one outage, want 1:\n%s", n, out)
			}
			if !strings.Contains(out, "redis unavailable, failing "+mode.String()) || !strings.Contains(out, "policy=unreachable") {
				t.Errorf("log: %s", out)
			}
		})
	}
}

// Redis goes away behind a proxy and comes back: the limiter fails open
// meanwhile, counts it, and counts again with Redis once it answers.
func TestRedisOutageAndRecovery(t *testing.T) {
	c := newRedisClient(t)
	prefix := testPrefix(t, c)
	proxy := newOutageProxy(t, redisAddr(t))
	pc, err := openRedis(fmt.Sprintf("redis://%s/0?dial_timeout=500ms", proxy.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var logs logBuffer
	r, err := NewRedis(pc, Policy{ReplenishRate: 0.01, BurstCapacity: 3},
		WithPrefix(prefix), WithTimeout(time.Second), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}

	if d := allow(t, r, "k", 1); !d.Allowed || d.Degraded || d.Remaining != 2 {
		t.Fatalf("before the outage: %+v", d)
	}

	proxy.setDown(true)
	for i := range 5 {
		if d := allow(t, r, "k", 1); !d.Allowed || !d.Degraded {
			t.Fatalf("outage call %d: %+v, want allowed (fail open), degraded", i, d)
		}
	}
	if s := r.Stats(); s.Failures != 5 || !s.Failing {
		t.Fatalf("Stats during the outage = %+v", s)
	}

	proxy.setDown(false)
	var d Decision
	eventually(t, 5*time.Second, func() error {
		d = allow(t, r, "k", 1)
		if d.Degraded {
			return errNotYet
		}
		return nil
	})
	// The bucket was left as it was: the outage's requests were not counted.
	if !d.Allowed || d.Remaining != 1 {
		t.Fatalf("after the outage: %+v, want allowed with 1 left", d)
	}
	if d := allow(t, r, "k", 1); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("counting again: %+v", d)
	}
	if d := allow(t, r, "k", 1); d.Allowed || d.Degraded {
		t.Fatalf("burst spent: %+v, want refused by Redis", d)
	}
	if s := r.Stats(); s.Failing {
		t.Errorf("Stats after recovery = %+v", s)
	}
	if out := logs.String(); !strings.Contains(out, "redis available again") {
		t.Errorf("no recovery line in the log:\n%s", out)
	}
}

func TestRedisOptions(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	p := Policy{ReplenishRate: 1, BurstCapacity: 1}
	bad := map[string]func() (*Redis, error){
		"nil client":   func() (*Redis, error) { return NewRedis(nil, p) },
		"bad policy":   func() (*Redis, error) { return NewRedis(c, Policy{BurstCapacity: -1}) },
		"zero timeout": func() (*Redis, error) { return NewRedis(c, p, WithTimeout(0)) },
		"bad mode":     func() (*Redis, error) { return NewRedis(c, p, WithFailureMode(FailureMode(7))) },
		"nil logger":   func() (*Redis, error) { return NewRedis(c, p, WithLogger(nil)) },
	}
	for name, f := range bad {
		if _, err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	r, err := NewRedis(c, Policy{Name: "n", ReplenishRate: 1, BurstCapacity: 1}, WithPrefix("app:"))
	if err != nil {
		t.Fatal(err)
	}
	if r.prefix != "app:n:" {
		t.Errorf("key prefix %q", r.prefix)
	}
	if FailureMode(7).String() != "FailureMode(7)" {
		t.Error(FailureMode(7).String())
	}
}

// An ACL user with a password, on the real server.
func TestOpenRedisACLUser(t *testing.T) {
	admin := newRedisClient(t)
	ctx := context.Background()
	user := "gatehouse-test-" + strings.TrimSuffix(strings.TrimPrefix(testPrefix(t, admin), "gatehouse-test:"), ":")
	prefix := "gatehouse-test:" + user + ":"
	err := admin.Do(ctx, "ACL", "SETUSER", user, "on", ">pw-"+user, "~"+prefix+"*", "+@scripting", "+get", "+set", "+time", "+ping", "+hello", "+client").Err()
	if err != nil {
		t.Skipf("the test Redis does not let us create an ACL user: %v", err)
	}
	t.Cleanup(func() {
		admin.Do(context.Background(), "ACL", "DELUSER", user)
		iter := admin.Scan(context.Background(), 0, prefix+"*", 100).Iterator()
		for iter.Next(context.Background()) {
			admin.Del(context.Background(), iter.Val())
		}
	})
	opt, _ := redis.ParseURL(redisURL(t))
	c, err := openRedis(fmt.Sprintf("redis://%s:pw-%s@%s/%d", user, user, opt.Addr, opt.DB))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := newRedisLimiter(t, c, prefix, Policy{ReplenishRate: 0.01, BurstCapacity: 1})
	if d := allow(t, r, "k", 1); !d.Allowed || d.Degraded {
		t.Fatalf("as ACL user: %+v (failures %d)", d, r.Stats().Failures)
	}
	if d := allow(t, r, "k", 1); d.Allowed || d.Degraded {
		t.Fatalf("as ACL user, second: %+v", d)
	}

	// A wrong password is a failure of Redis, handled by the failure mode.
	bad, _ := openRedis(fmt.Sprintf("redis://%s:wrong@%s/%d", user, opt.Addr, opt.DB))
	defer bad.Close()
	br, _ := NewRedis(bad, Policy{ReplenishRate: 1, BurstCapacity: 1}, WithPrefix(prefix), WithLogger(discardLogger()), WithFailureMode(FailClosed))
	if d := allow(t, br, "k", 1); d.Allowed || !d.Degraded {
		t.Fatalf("wrong password, fail closed: %+v", d)
	}
}
