package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// BenchmarkHandler measures one request through the gateway's handler
// (JWT from the verified-token cache, rules, a rate limit that does not
// trigger, forwarded claims, access log) and, as its floor, through a
// bare httputil.ReverseProxy to the same upstream, over loopback TCP.
func BenchmarkHandler(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"id":42}`))
	}))
	defer upstream.Close()
	uurl, _ := url.Parse(upstream.URL)
	bare := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(uurl); pr.SetXForwarded() }, Transport: newTransport()}

	iss := tokentest.NewIssuer(b, tokentest.WithAudience("gateway"))
	cfg := mustParse(b, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
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
	h := gw.Handler()
	tok := "Bearer " + iss.Token(token.Claims{Subject: "alice", ClientID: "web", Scope: "orders:read"})
	one := func(b *testing.B, h http.Handler) {
		// A server's request context is always cancelable; so is this one.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := httptest.NewRequestWithContext(ctx, "GET", "/api/orders/42", nil)
		r.Header.Set("Authorization", tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	// Alternate the two in one loop, so that load on the machine hits
	// both alike, and report each and the ratio.
	var tBare, tGW time.Duration
	for b.Loop() {
		t0 := time.Now()
		one(b, bare)
		t1 := time.Now()
		one(b, h)
		tGW += time.Since(t1)
		tBare += t1.Sub(t0)
	}
	b.ReportMetric(float64(tBare.Nanoseconds())/float64(b.N), "bare-ns/req")
	b.ReportMetric(float64(tGW.Nanoseconds())/float64(b.N), "gw-ns/req")
	b.ReportMetric(float64(tGW)/float64(tBare), "gw/bare")
}
