package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// loadResult is what one load run measured.
type loadResult struct {
	requests int
	errors   int
	elapsed  time.Duration
	lat      []time.Duration
}

func (r *loadResult) add(o loadResult) {
	r.requests += o.requests
	r.errors += o.errors
	r.elapsed += o.elapsed
	r.lat = append(r.lat, o.lat...)
}

func (r *loadResult) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *loadResult) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	slices.Sort(r.lat)
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

// load sends GET url with the given headers from conc workers, each on
// its own keep-alive connection, for d, and records every latency.
func load(tb testing.TB, client *http.Client, target string, hdrs []http.Header, conc int, d time.Duration) loadResult {
	tb.Helper()
	var mu sync.Mutex
	var res loadResult
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			n, errs := 0, 0
			for i := 0; ctx.Err() == nil; i++ {
				req, _ := http.NewRequest(http.MethodGet, target, nil)
				req.Header = hdrs[(w+i)%len(hdrs)]
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode != http.StatusOK {
					errs++
				}
				n++
			}
			mu.Lock()
			res.requests += n
			res.errors += errs
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// BenchmarkGatewayLoad is the load benchmark of BENCHMARKS.md: the gateway
// (ES256 JWT check with the verified-token cache, a rate limit that does
// not trigger, forwarded claims, the access log on) against a bare
// httputil.ReverseProxy (the floor), both in front of the same upstream,
// driven by the same Go load generator, in alternating rounds so that load
// on the machine hits both alike. It measures once per invocation; run it
// with -benchtime 1x. GATEHOUSE_LOAD_SECONDS (default 0.75) sets each of the 8 rounds'
// length, GATEHOUSE_LOAD_CONC (default 32) the connections.
func BenchmarkGatewayLoad(b *testing.B) {
	secs, conc := 0.75, 32
	if v, err := strconv.ParseFloat(os.Getenv("GATEHOUSE_LOAD_SECONDS"), 64); err == nil && v > 0 {
		secs = v
	}
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_LOAD_CONC")); err == nil && v > 0 {
		conc = v
	}
	round := time.Duration(secs * float64(time.Second))

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":42,"status":"shipped","items":3}`))
	}))
	defer upstream.Close()
	uurl, _ := url.Parse(upstream.URL)

	bareTransport := newTransport()
	bare := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(uurl); pr.SetXForwarded() },
		Transport: bareTransport,
	})
	defer bare.Close()

	iss := tokentest.NewIssuer(b, tokentest.WithAudience("gateway"))
	cfg := mustParse(b, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
access_log: true
routes:
  - name: orders
    path: /api/orders
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {scopes: ["orders:read"]}
    forward_claims: {X-Gatehouse-Subject: sub}
    rate_limit: {key: client_id, replenish_rate: 1000000, burst_capacity: 1000000}
`, map[string]string{"ISS": iss.URL, "U": upstream.URL})
	gw, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	gsrv := httptest.NewUnstartedServer(nil)
	gsrv.Config = gw.NewServer()
	gsrv.Start()
	defer gsrv.Close()

	hdrs := make([]http.Header, 16)
	for i := range hdrs {
		tok := iss.Token(token.Claims{Subject: fmt.Sprintf("user-%d", i), ClientID: "web", Scope: "orders:read"})
		hdrs[i] = http.Header{"Authorization": {"Bearer " + tok}}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}}
	defer client.CloseIdleConnections()

	// Warm up both: connections, the verified-token cache.
	load(b, client, bare.URL+"/api/orders/42", hdrs, conc, 300*time.Millisecond)
	load(b, client, gsrv.URL+"/api/orders/42", hdrs, conc, 300*time.Millisecond)

	b.ResetTimer()
	var bareRes, gwRes loadResult
	for range 8 {
		bareRes.add(load(b, client, bare.URL+"/api/orders/42", hdrs, conc, round))
		gwRes.add(load(b, client, gsrv.URL+"/api/orders/42", hdrs, conc, round))
	}
	b.StopTimer()
	if bareRes.errors > 0 || gwRes.errors > 0 {
		b.Fatalf("errors: bare %d, gateway %d", bareRes.errors, gwRes.errors)
	}
	b.ReportMetric(bareRes.rps(), "bare-rps")
	b.ReportMetric(gwRes.rps(), "gw-rps")
	b.ReportMetric(gwRes.rps()/bareRes.rps(), "rps-ratio")
	b.ReportMetric(float64(bareRes.pct(0.5).Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64(gwRes.pct(0.5).Microseconds()), "gw-p50-µs")
	b.ReportMetric(float64(bareRes.pct(0.99).Microseconds()), "bare-p99-µs")
	b.ReportMetric(float64(gwRes.pct(0.99).Microseconds()), "gw-p99-µs")
	b.ReportMetric(float64(gwRes.pct(0.99))/float64(bareRes.pct(0.99)), "p99-ratio")
	b.ReportMetric(0, "ns/op")
}
