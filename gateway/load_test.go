package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
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
// its own keep-alive connection, for d, and records every latency; an
// answer other than 200 counts as an error.
func load(tb testing.TB, client *http.Client, target string, hdrs []http.Header, conc int, d time.Duration) loadResult {
	tb.Helper()
	return loadWith(tb, client, target, func(w, i int) http.Header { return hdrs[(w+i)%len(hdrs)] }, http.StatusOK, conc, d)
}

// loadWith is load with the headers of worker w's request i from pick,
// and want the status every answer must have.
func loadWith(tb testing.TB, client *http.Client, target string, pick func(w, i int) http.Header, want, conc int, d time.Duration) loadResult {
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
				req.Header = pick(w, i)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode != want {
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

// loadVariant is one mix of traffic of BenchmarkGatewayLoad.
type loadVariant struct {
	name string
	// tokens are the bearer tokens the requests carry.
	tokens func(iss *tokentest.Issuer) []string
	// want is the gateway's status for every request (the bare proxy
	// passes them all: 200).
	want int
	// cyclic: the requests of all workers go through the tokens in one
	// cycle (token n of request n), so that a token comes back only after
	// all the others; else worker w's request i takes token w+i.
	cyclic bool
	// roundScale lengthens the rounds.
	roundScale float64
}

func users(iss *tokentest.Issuer, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = iss.Token(token.Claims{Subject: fmt.Sprintf("user-%d", i), ClientID: "web", Scope: "orders:read"})
	}
	return out
}

var loadVariants = []loadVariant{
	// valid: 16 users' tokens, answered from the verified-token cache
	// after their first use.
	{name: "valid", tokens: func(iss *tokentest.Issuer) []string { return users(iss, 16) }, want: http.StatusOK, roundScale: 1},
	// refused: a fixed set of 16 tokens the gateway refuses (401): 8 with
	// a signature that does not verify, 8 expired (a good signature).
	{name: "refused", want: http.StatusUnauthorized, roundScale: 1, tokens: func(iss *tokentest.Issuer) []string {
		var out []string
		for i := range 8 {
			c := token.Claims{Subject: fmt.Sprintf("user-%d", i), ClientID: "web", Scope: "orders:read"}
			out = append(out, iss.BadSignature(c), iss.Expired(c))
		}
		return out
	}},
	// churn50k: 50,000 users' tokens in one cycle, each used a few times:
	// the verified-token cache under churn.
	// The warm-up sends every token once; the rounds then take about as
	// many requests again, so that a token is used two or three times in
	// all, each time after the other 49,999.
	{name: "churn50k", tokens: func(iss *tokentest.Issuer) []string { return users(iss, 50_000) }, want: http.StatusOK, cyclic: true, roundScale: 6},
}

// BenchmarkGatewayLoad is the load benchmark of BENCHMARKS.md: the gateway
// (ES256 JWT check with the verified-token cache, a rate limit that does
// not trigger, forwarded claims, the access log on) against a bare
// httputil.ReverseProxy (the floor), each in a process of its own
// (loadchild_test.go) in front of the same upstream, driven by the same
// Go load generator, in alternating rounds so that load on the machine
// hits both alike. The variants are the traffic: valid tokens, refused
// tokens, 50,000 distinct tokens. It reports throughput and latency, the
// CPU time each proxy's process spent per request in its own rounds (the
// steadier figure on a shared machine), and each proxy's memory after the
// rounds: the resident set (now, its peak, its anonymous part) and the
// gateway's heap. It measures once per invocation; run it with
// -benchtime 1x.
//
// The environment tunes it: GATEHOUSE_LOAD_SECONDS (default 0.75) sets
// each of the 8 rounds' length (churn50k's are 6 times longer, after a
// warm-up that sends each of its tokens once: about 2 minutes in all),
// GATEHOUSE_LOAD_CONC (default 32) the connections;
// GATEHOUSE_LOAD_SERVE=PATH runs the gateway as 'PATH serve' (the
// product's binary) instead of the test binary; GATEHOUSE_LOAD_GW_ENV adds
// environment to the gateway's process ("GOGC=50 GOMEMLIMIT=24MiB");
// GATEHOUSE_LOAD_PROFILE=DIR writes its CPU and allocation profiles;
// GATEHOUSE_LOAD_CLASSES=1 prints its runtime/metrics memory classes.
func BenchmarkGatewayLoad(b *testing.B) {
	for _, v := range loadVariants {
		b.Run(v.name, func(b *testing.B) { runLoad(b, v) })
	}
}

func runLoad(b *testing.B, v loadVariant) {
	secs, conc := 0.75, 32
	if s, err := strconv.ParseFloat(os.Getenv("GATEHOUSE_LOAD_SECONDS"), 64); err == nil && s > 0 {
		secs = s
	}
	if c, err := strconv.Atoi(os.Getenv("GATEHOUSE_LOAD_CONC")); err == nil && c > 0 {
		conc = c
	}
	round := time.Duration(secs * v.roundScale * float64(time.Second))

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":42,"status":"shipped","items":3}`))
	}))
	defer upstream.Close()
	iss := tokentest.NewIssuer(b, tokentest.WithAudience("gateway"))
	cfg := expand(`
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
	bare := startChild(b, "bare", upstream.URL, "")
	gw := startChild(b, "gw", upstream.URL, cfg)

	toks := v.tokens(iss)
	hdrs := make([]http.Header, len(toks))
	for i, t := range toks {
		hdrs[i] = http.Header{"Authorization": {"Bearer " + t}}
	}
	pick := func(w, i int) http.Header { return hdrs[(w+i)%len(hdrs)] }
	var sent atomic.Uint64 // requests of the cyclic variants
	if v.cyclic {
		pick = func(int, int) http.Header { return hdrs[(sent.Add(1)-1)%uint64(len(hdrs))] }
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}}
	defer client.CloseIdleConnections()
	const path = "/api/orders/42"

	// Warm up both: connections, the verified-token cache.
	loadWith(b, client, bare.URL()+path, pick, http.StatusOK, conc, 300*time.Millisecond)
	loadWith(b, client, gw.URL()+path, pick, v.want, conc, 300*time.Millisecond)
	for v.cyclic && sent.Load() < uint64(len(hdrs)) {
		loadWith(b, client, gw.URL()+path, pick, v.want, conc, time.Second) // every token once
	}

	// GATEHOUSE_LOAD_PROFILE=DIR: CPU and allocation profiles of the
	// gateway child during the rounds, DIR/VARIANT.cpu and .allocs.
	profile := os.Getenv("GATEHOUSE_LOAD_PROFILE")
	if profile != "" {
		gw.do(b, "cpu "+filepath.Join(profile, v.name+".cpu"))
		bare.do(b, "cpu "+filepath.Join(profile, v.name+"-bare.cpu"))
	}
	b.ResetTimer()
	var bareRes, gwRes loadResult
	var bareCPU, gwCPU time.Duration // each proxy's CPU time in its own rounds
	for range 8 {
		c0 := bare.cpu()
		bareRes.add(loadWith(b, client, bare.URL()+path, pick, http.StatusOK, conc, round))
		c1 := gw.cpu()
		bareCPU += bare.cpu() - c0
		gwRes.add(loadWith(b, client, gw.URL()+path, pick, v.want, conc, round))
		gwCPU += gw.cpu() - c1
	}
	b.StopTimer()
	if profile != "" {
		gw.do(b, "stop "+filepath.Join(profile, v.name+".allocs"))
		bare.do(b, "stop "+filepath.Join(profile, v.name+"-bare.allocs"))
		b.Logf("requests: bare %d, gateway %d", bareRes.requests, gwRes.requests)
	}
	if bareRes.errors > 0 || gwRes.errors > 0 {
		b.Fatalf("errors: bare %d, gateway %d", bareRes.errors, gwRes.errors)
	}
	bm, gm := bare.mem(b), gw.mem(b)
	if os.Getenv("GATEHOUSE_LOAD_CLASSES") != "" {
		gw.do(b, "classes")
	}
	mb := func(n uint64) float64 { return float64(n) / (1 << 20) }
	b.ReportMetric(bareRes.rps(), "bare-rps")
	b.ReportMetric(gwRes.rps(), "gw-rps")
	b.ReportMetric(gwRes.rps()/bareRes.rps(), "rps-ratio")
	b.ReportMetric(float64(bareRes.pct(0.5).Microseconds()), "bare-p50-µs")
	b.ReportMetric(float64(gwRes.pct(0.5).Microseconds()), "gw-p50-µs")
	b.ReportMetric(float64(bareRes.pct(0.99).Microseconds()), "bare-p99-µs")
	b.ReportMetric(float64(gwRes.pct(0.99).Microseconds()), "gw-p99-µs")
	b.ReportMetric(float64(gwRes.pct(0.99))/float64(bareRes.pct(0.99)), "p99-ratio")
	// What each request cost the proxy's own process, whatever else ran
	// on the machine: the steadier figure of the two.
	bareCost := float64(bareCPU.Nanoseconds()) / float64(bareRes.requests) / 1000
	gwCost := float64(gwCPU.Nanoseconds()) / float64(gwRes.requests) / 1000
	b.ReportMetric(bareCost, "bare-cpu-µs/req")
	b.ReportMetric(gwCost, "gw-cpu-µs/req")
	b.ReportMetric(bareCost/gwCost, "cpu-ratio")
	b.ReportMetric(mb(bm.RSS), "bare-rss-MB")
	b.ReportMetric(mb(bm.HWM), "bare-rss-peak-MB")
	b.ReportMetric(mb(gm.RSS), "gw-rss-MB")
	b.ReportMetric(mb(gm.HWM), "gw-rss-peak-MB")
	b.ReportMetric(mb(gm.Anon), "gw-rss-anon-MB")
	b.ReportMetric(mb(gm.HeapObjects), "gw-heap-MB")
	b.ReportMetric(mb(gm.Runtime), "gw-go-total-MB")
	if os.Getenv(serveEnv) != "" {
		b.ReportMetric(mb(gm.ExeCached), "gw-exe-cached-MB")
		b.ReportMetric(float64(gm.MajorFaults), "gw-major-faults")
	}
	if v.cyclic {
		b.ReportMetric(float64(sent.Load())/float64(len(toks)), "uses/token") // both proxies, warm-up included
	}
	b.ReportMetric(0, "ns/op")
}
