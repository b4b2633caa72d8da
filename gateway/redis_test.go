package gateway

import (
	"context"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// TestRedisSharedLimit runs two gateway instances, each with its own Redis
// client, on one limit, and hammers both for 5 s: together they admit
// what one limit allows (burst + rate × time), within ±5 %.
func TestRedisSharedLimit(t *testing.T) {
	prefix := redistest.Prefix(t)
	u := newUpstream(t, "u", nil)
	yml := `
ratelimit: {backend: redis, prefix: "{{P}}"}
routes:
  - name: shared
    path: /
    upstreams: ["{{U}}"]
    auth: none
    rate_limit: {key: "header:X-Api-Key", replenish_rate: 20, burst_capacity: 20}
`
	vars := map[string]string{"U": u.URL, "P": prefix}
	gws := []*testGW{
		startGW(t, yml, vars, func(o *Options) { o.Redis = redistest.Client(t, "gw-a") }),
		startGW(t, yml, vars, func(o *Options) { o.Redis = redistest.Client(t, "gw-b") }),
	}
	const burst, rate = 20, 20.0 // well below what 16 workers send, so the limit always binds
	var admitted, limited, other atomic.Int64
	var perGW [2]atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var first, last atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		gw := gws[w%2]
		client := gw.srv.Client()
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.srv.URL+"/", nil)
				req.Header.Set("X-Api-Key", "tenant-1")
				now := time.Now().UnixNano()
				first.CompareAndSwap(0, now)
				resp, err := client.Do(req)
				if err != nil {
					continue // the deadline, mid-request
				}
				resp.Body.Close()
				last.Store(max(last.Load(), now))
				switch resp.StatusCode {
				case http.StatusOK:
					admitted.Add(1)
					perGW[w%2].Add(1)
				case http.StatusTooManyRequests:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Duration(last.Load() - first.Load())
	want := float64(burst) + rate*elapsed.Seconds()
	got := float64(admitted.Load())
	t.Logf("admitted %v (gw-a %d, gw-b %d), limited %d, in %s; the limit allows %.0f", got, perGW[0].Load(), perGW[1].Load(), limited.Load(), elapsed, want)
	if other.Load() > 0 {
		t.Fatalf("%d answers were neither 200 nor 429", other.Load())
	}
	if limited.Load() == 0 || perGW[0].Load() == 0 || perGW[1].Load() == 0 {
		t.Fatal("the test did not exceed the limit through both gateways")
	}
	if math.Abs(got-want)/want > 0.05 {
		t.Fatalf("admitted %v, the limit allows %.0f: off by more than 5%%", got, want)
	}
}

// TestRedisOutage cuts the connection to Redis (a TCP proxy in the test,
// never the real server): fail open admits with the policy header only,
// fail closed answers 503; both log and count the outage, and both are
// back on Redis when it returns.
func TestRedisOutage(t *testing.T) {
	for _, mode := range []string{"open", "closed"} {
		t.Run(mode, func(t *testing.T) {
			prefix := redistest.Prefix(t)
			proxy := redistest.NewProxy(t)
			u := newUpstream(t, "u", nil)
			var rdb *redis.Client
			gw := startGW(t, `
ratelimit: {backend: redis, prefix: "{{P}}", on_redis_error: {{MODE}}, timeout: 300ms}
routes:
  - name: r
    path: /
    upstreams: ["{{U}}"]
    auth: none
    rate_limit: {key: ip, replenish_rate: 0.01, burst_capacity: 2}
`, map[string]string{"U": u.URL, "P": prefix, "MODE": mode}, func(o *Options) {
				rdb = redistest.ClientVia(t, "gw-"+mode, proxy.Addr())
				o.Redis = rdb
			})
			readEcho(t, gw.do(t, "GET", "/", nil, nil))

			proxy.Cut()
			for range 3 {
				resp := gw.do(t, "GET", "/", nil, nil)
				if mode == "open" {
					readEcho(t, resp)
					if resp.Header.Get("RateLimit-Policy") == "" || resp.Header.Get("RateLimit") != "" {
						t.Fatalf("degraded answer headers: %v", resp.Header)
					}
				} else {
					problemOf(t, resp, http.StatusServiceUnavailable, TypeOverloaded)
					if resp.Header.Get("Retry-After") == "" {
						t.Fatal("503 without Retry-After")
					}
				}
			}
			m := scrape(t, gw)
			if !strings.Contains(m, "gatehouse_gateway_ratelimit_backend_failing 1") ||
				strings.Contains(m, "gatehouse_gateway_ratelimit_backend_failures_total 0\n") {
				t.Fatalf("the outage is not in the metrics:\n%s", grep(m, "ratelimit_backend"))
			}
			if !strings.Contains(gw.logs.String(), "ratelimit") || !strings.Contains(gw.logs.String(), `"level":"WARN"`) {
				t.Fatalf("the outage is not logged:\n%s", gw.logs.String())
			}

			// Redis returns: the limit counts again (one token was left).
			proxy.Restore()
			redistest.Eventually(t, 10*time.Second, "back on Redis", func() bool {
				resp := gw.do(t, "GET", "/", nil, nil)
				return resp.StatusCode == http.StatusTooManyRequests
			})
			if m := scrape(t, gw); !strings.Contains(m, "gatehouse_gateway_ratelimit_backend_failing 0") {
				t.Fatalf("still failing after Redis returned:\n%s", grep(m, "ratelimit_backend"))
			}
		})
	}
}
