package gateway

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRouting(t *testing.T) {
	a := newUpstream(t, "a", nil)
	b := newUpstream(t, "b", nil)
	c := newUpstream(t, "c", nil)
	d := newUpstream(t, "d", nil)
	gw := startGW(t, `
routes:
  - name: api
    path: /api
    upstreams: ["{{A}}"]
    auth: none
  - name: accounts
    path: /api/accounts
    strip_prefix: /api
    upstreams: ["{{B}}"]
    auth: none
  - name: order-delete
    pattern: "DELETE /api/orders/{id}"
    upstreams: ["{{C}}"]
    auth: none
  - name: admin-host
    host: admin.example
    path: /api
    methods: [GET]
    upstreams: ["{{D}}/base"]
    auth: none
`, map[string]string{"A": a.URL, "B": b.URL, "C": c.URL, "D": d.URL})

	tests := []struct {
		name, method, path, host string
		upstream, upPath         string
	}{
		{"prefix", "GET", "/api/x?q=1", "", "a", "/api/x"},
		{"prefix itself", "GET", "/api", "", "a", "/api"},
		{"longer prefix wins, stripped", "GET", "/api/accounts/42", "", "b", "/accounts/42"},
		{"prefix is by segments", "GET", "/api/accountsX", "", "a", "/api/accountsX"},
		{"pattern with method", "DELETE", "/api/orders/7", "", "c", "/api/orders/7"},
		{"pattern other method falls back", "GET", "/api/orders/7", "", "a", "/api/orders/7"},
		{"host wins", "GET", "/api/accounts/1", "admin.example", "d", "/base/api/accounts/1"},
		{"host route method only", "POST", "/api/y", "admin.example", "a", "/api/y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.host != "" {
				hdr["Host"] = tc.host
			}
			e := readEcho(t, gw.do(t, tc.method, tc.path, hdr, nil))
			if e.Name != tc.upstream || e.Path != tc.upPath {
				t.Fatalf("went to %s %s, want %s %s", e.Name, e.Path, tc.upstream, tc.upPath)
			}
			if tc.path == "/api/x?q=1" && e.Query != "q=1" {
				t.Fatalf("query %q lost", e.Query)
			}
		})
	}
	t.Run("no route", func(t *testing.T) {
		resp := gw.do(t, "GET", "/nothing", nil, nil)
		problemOf(t, resp, 404, TypeNoRoute)
	})
}

func TestRoundRobinAndPassiveHealth(t *testing.T) {
	a := newUpstream(t, "a", nil)
	b := newUpstream(t, "b", nil)
	dead := closedURL(t)
	gw := startGW(t, `
routes:
  - name: rr
    path: /
    upstreams: ["{{A}}", "{{B}}"]
    auth: none
  - name: flaky
    path: /flaky
    upstreams: ["{{DEAD}}", "{{A}}"]
    passive_health: {failures: 2, cooldown: 1m}
    auth: none
`, map[string]string{"A": a.URL, "B": b.URL, "DEAD": dead})

	seen := map[string]int{}
	for range 10 {
		seen[readEcho(t, gw.do(t, "GET", "/x", nil, nil)).Name]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Fatalf("round robin gave %v, want 5 and 5", seen)
	}

	// The dead upstream answers 502 until it failed twice; then it is
	// skipped and every request reaches a.
	var bad int
	for range 4 {
		resp := gw.do(t, "GET", "/flaky", nil, nil)
		if resp.StatusCode == http.StatusBadGateway {
			p := problemOf(t, resp, 502, TypeBadGateway)
			if strings.Contains(p["detail"].(string), "127.0.0.1") {
				t.Fatalf("502 leaks the upstream address: %v", p)
			}
			bad++
			continue
		}
		readEcho(t, resp)
	}
	if bad != 2 {
		t.Fatalf("%d requests failed before the dead upstream was skipped, want 2", bad)
	}
	for range 6 {
		if e := readEcho(t, gw.do(t, "GET", "/flaky", nil, nil)); e.Name != "a" {
			t.Fatalf("went to %s", e.Name)
		}
	}
	metrics := scrape(t, gw)
	if !strings.Contains(metrics, `gatehouse_gateway_upstream_errors_total{kind="unreachable",route="flaky"} 2`) {
		t.Fatalf("upstream errors not counted:\n%s", grep(metrics, "upstream_errors"))
	}
}

func TestActiveHealthCheck(t *testing.T) {
	sick := newUpstream(t, "sick", map[string]http.HandlerFunc{
		"/healthz": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
	})
	well := newUpstream(t, "well", map[string]http.HandlerFunc{
		"/healthz": func(w http.ResponseWriter, _ *http.Request) {},
	})
	gw := startGW(t, `
routes:
  - name: hc
    path: /
    upstreams: ["{{SICK}}", "{{WELL}}"]
    health_check: {path: /healthz, interval: 50ms}
    auth: none
`, map[string]string{"SICK": sick.URL, "WELL": well.URL})
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := gw.state.Load()
		if st.routes[0].upstreams[0].down.Load() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sick upstream was never marked down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 6 {
		if e := readEcho(t, gw.do(t, "GET", "/", nil, nil)); e.Name != "well" {
			t.Fatalf("went to %s", e.Name)
		}
	}
}

func TestUpstreamTimeout(t *testing.T) {
	slow := newUpstream(t, "slow", map[string]http.HandlerFunc{
		"/slow": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		},
	})
	gw := startGW(t, `
routes:
  - name: slow
    path: /
    upstreams: ["{{U}}"]
    timeout: 100ms
    auth: none
`, map[string]string{"U": slow.URL})
	resp := gw.do(t, "GET", "/slow", nil, nil)
	p := problemOf(t, resp, 504, TypeGatewayTimeout)
	if strings.Contains(p["detail"].(string), slow.Listener.Addr().String()) {
		t.Fatalf("504 leaks the upstream: %v", p)
	}
	// The timeout ends when the headers arrive: a normal answer passes.
	readEcho(t, gw.do(t, "GET", "/fast", nil, nil))
}

func TestHopByHopHeaders(t *testing.T) {
	u := newUpstream(t, "u", map[string]http.HandlerFunc{
		"/hop": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "X-Secret-Hop")
			w.Header().Set("X-Secret-Hop", "1")
			w.Header().Set("Keep-Alive", "timeout=5")
			w.Write([]byte("ok"))
		},
	})
	gw := startGW(t, `
routes:
  - name: u
    path: /
    upstreams: ["{{U}}"]
    auth: none
`, map[string]string{"U": u.URL})
	e := readEcho(t, gw.do(t, "GET", "/", map[string]string{
		"Connection": "X-Hop", "X-Hop": "drop me", "Te": "trailers", "Proxy-Connection": "keep-alive", "X-Keep": "kept",
	}, nil))
	for _, h := range []string{"X-Hop", "Proxy-Connection", "Connection"} {
		if v := e.Header.Get(h); v != "" {
			t.Errorf("upstream got hop-by-hop %s: %q", h, v)
		}
	}
	if e.Header.Get("X-Keep") != "kept" {
		t.Errorf("end-to-end header lost")
	}
	resp := gw.do(t, "GET", "/hop", nil, nil)
	if resp.Header.Get("X-Secret-Hop") != "" || resp.Header.Get("Keep-Alive") != "" {
		t.Errorf("client got the upstream's hop-by-hop headers: %v", resp.Header)
	}
}

func TestStreamingPassesThrough(t *testing.T) {
	u := newUpstream(t, "u", map[string]http.HandlerFunc{
		"/sse": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: one\n\n"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		},
	})
	gw := startGW(t, `
routes:
  - name: u
    path: /
    upstreams: ["{{U}}"]
    timeout: 10s
    auth: none
`, map[string]string{"U": u.URL})
	resp := gw.do(t, "GET", "/sse", nil, nil)
	buf := make([]byte, 11)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "data: one\n\n" {
		t.Fatalf("first event not flushed: %q %v", buf, err)
	}
}

// closedURL returns the URL of a port that nothing listens on.
func closedURL(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func scrape(t testing.TB, gw *testGW) string {
	t.Helper()
	srv := httpTestServer(t, gw.AdminHandler())
	resp, err := http.Get(srv + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
