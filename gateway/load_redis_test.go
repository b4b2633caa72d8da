package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/redistest"
	"github.com/gatehousehq/gatehouse/ratelimit"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// BenchmarkGatewayLoadRedisLimiter is BenchmarkGatewayLoad's route with its
// per-client_id limit on Redis, with local shares (the default) and with a
// round trip per request (local_shares: false), next to the same gateway
// with the limit in memory (the floor), in alternating rounds: what sharing
// the limit across instances costs. Run it with -benchtime 1x and GATEHOUSE_TEST_REDIS set.
// Each round is GATEHOUSE_LOAD_SECONDS long (default 0.75).
func BenchmarkGatewayLoadRedisLimiter(b *testing.B) {
	secs, conc := 0.75, 32
	if v, err := strconv.ParseFloat(os.Getenv("GATEHOUSE_LOAD_SECONDS"), 64); err == nil && v > 0 {
		secs = v
	}
	round := time.Duration(secs * float64(time.Second))
	rdb := redistest.Client(b, "bench-gw")
	prefix := redistest.Prefix(b)

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":42,"status":"shipped","items":3}`))
	}))
	defer upstream.Close()
	iss := tokentest.NewIssuer(b, tokentest.WithAudience("gateway"))
	start := func(backend, shares string) *httptest.Server {
		cfg := mustParse(b, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
access_log: true
ratelimit: {backend: {{B}}, prefix: "{{P}}"{{S}}}
routes:
  - name: orders
    path: /api/orders
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {scopes: ["orders:read"]}
    forward_claims: {X-Gatehouse-Subject: sub}
    rate_limit: {key: client_id, replenish_rate: 1000000, burst_capacity: 1000000}
`, map[string]string{"ISS": iss.URL, "U": upstream.URL, "B": backend, "P": prefix, "S": shares})
		opts := Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
		if backend == "redis" {
			opts.Redis = rdb
		}
		gw, err := New(context.Background(), cfg, opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { gw.Close() })
		srv := httptest.NewUnstartedServer(nil)
		srv.Config = gw.NewServer()
		srv.Start()
		b.Cleanup(srv.Close)
		return srv
	}
	mem, red, exact := start("memory", ""), start("redis", ""), start("redis", ", local_shares: false")

	hdrs := make([]http.Header, 16)
	for i := range hdrs {
		tok := iss.Token(token.Claims{Subject: fmt.Sprintf("user-%d", i), ClientID: "web", Scope: "orders:read"})
		hdrs[i] = http.Header{"Authorization": {"Bearer " + tok}}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}}
	defer client.CloseIdleConnections()
	load(b, client, mem.URL+"/api/orders/42", hdrs, conc, 300*time.Millisecond)
	load(b, client, red.URL+"/api/orders/42", hdrs, conc, 300*time.Millisecond)
	load(b, client, exact.URL+"/api/orders/42", hdrs, conc, 300*time.Millisecond)

	b.ResetTimer()
	var memRes, redRes, exactRes loadResult
	for range 8 {
		memRes.add(load(b, client, mem.URL+"/api/orders/42", hdrs, conc, round))
		redRes.add(load(b, client, red.URL+"/api/orders/42", hdrs, conc, round))
		exactRes.add(load(b, client, exact.URL+"/api/orders/42", hdrs, conc, round))
	}
	b.StopTimer()
	if memRes.errors > 0 || redRes.errors > 0 || exactRes.errors > 0 {
		b.Fatalf("errors: memory %d, redis %d, exact %d", memRes.errors, redRes.errors, exactRes.errors)
	}
	b.ReportMetric(memRes.rps(), "memory-rps")
	b.ReportMetric(redRes.rps(), "redis-rps")
	b.ReportMetric(redRes.rps()/memRes.rps(), "rps-ratio")
	b.ReportMetric(exactRes.rps(), "exact-rps")
	b.ReportMetric(exactRes.rps()/memRes.rps(), "exact-ratio")
	b.ReportMetric(float64(exactRes.pct(0.99).Microseconds()), "exact-p99-µs")
	b.ReportMetric(float64(memRes.pct(0.99).Microseconds()), "memory-p99-µs")
	b.ReportMetric(float64(redRes.pct(0.99).Microseconds()), "redis-p99-µs")
	b.ReportMetric(0, "ns/op")
}

// ratelimit.local_shares chooses between shares (the default) and a round
// trip per request.
func TestRedisLocalSharesSetting(t *testing.T) {
	u := newUpstream(t, "u", nil)
	for _, tc := range []struct {
		setting   string
		wantLocal bool
	}{{"", true}, {"local_shares: true,", true}, {"local_shares: false,", false}} {
		yml := `
ratelimit: {backend: redis, ` + tc.setting + ` prefix: "{{P}}"}
routes:
  - name: busy
    path: /
    upstreams: ["{{U}}"]
    auth: none
    rate_limit: {key: "header:X-Api-Key", replenish_rate: 10000, burst_capacity: 10000}
`
		gw := startGW(t, yml, map[string]string{"U": u.URL, "P": redistest.Prefix(t)}, func(o *Options) { o.Redis = redistest.Client(t, "gw") })
		client := gw.srv.Client()
		for range 50 {
			req, _ := http.NewRequest(http.MethodGet, gw.srv.URL+"/", nil)
			req.Header.Set("X-Api-Key", "tenant-1")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%q: status %d", tc.setting, resp.StatusCode)
			}
		}
		var st ratelimit.Stats
		for _, lim := range gw.state.Load().limiters {
			st = lim.(*ratelimit.Redis).Stats()
		}
		if got := st.Local > 0; got != tc.wantLocal {
			t.Errorf("%q: %d of 50 decided from a share (%d round trips), want shares %v", tc.setting, st.Local, st.RoundTrips, tc.wantLocal)
		}
	}
}
