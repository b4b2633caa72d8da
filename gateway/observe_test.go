package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

func TestAccessLogAndMetrics(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startGW(t, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
routes:
  - {name: api, path: /api, upstreams: ["{{U}}"], auth: jwt}
`, map[string]string{"ISS": iss.URL, "U": u.URL})
	tok := iss.Token(token.Claims{Subject: "alice", ClientID: "web"})
	readEcho(t, gw.do(t, "GET", "/api/x?secret=1", bearer(tok), nil))
	problemOf(t, gw.do(t, "GET", "/api/x", bearer(iss.Expired(token.Claims{Subject: "alice"})), nil), 401, "")
	problemOf(t, gw.do(t, "GET", "/none", nil, nil), 404, TypeNoRoute)

	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(gw.logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d access log lines, want 3:\n%s", len(lines), gw.logs.String())
	}
	first := lines[0]
	for k, want := range map[string]any{"method": "GET", "route": "api", "path": "/api/x", "status": float64(200),
		"sub": "alice", "client_id": "web", "client": "127.0.0.1"} {
		if first[k] != want {
			t.Errorf("access log %s = %v, want %v", k, first[k], want)
		}
	}
	if first["bytes"].(float64) <= 0 || first["duration_ms"] == nil {
		t.Errorf("access log bytes/duration: %v", first)
	}
	if lines[1]["status"] != float64(401) || lines[1]["refused"] != "unauthorized" || lines[2]["refused"] != "no_route" {
		t.Errorf("refusals in the log: %v %v", lines[1], lines[2])
	}
	if all := gw.logs.String(); strings.Contains(all, tok) || strings.Contains(all, "secret=1") {
		t.Fatal("the log holds a token or a query string")
	}

	admin := httpTestServer(t, gw.AdminHandler())
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		resp, err := http.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	m := scrape(t, gw)
	for _, want := range []string{
		`gatehouse_gateway_requests_total{code="200",route="api"} 1`,
		`gatehouse_gateway_requests_total{code="401",route="api"} 1`,
		`gatehouse_gateway_requests_total{code="404",route="-"} 1`,
		`gatehouse_gateway_request_duration_seconds_count{route="api"} 2`,
		`gatehouse_gateway_refused_total{reason="no_route",route="-"} 1`,
		`gatehouse_gateway_ratelimit_backend_failures_total 0`,
		`gatehouse_gateway_requests_in_flight 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	gw.Close()
	resp, _ := http.Get(admin + "/readyz")
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("readyz after Close: %d", resp.StatusCode)
	}
}

func TestReload(t *testing.T) {
	a := newUpstream(t, "a", nil)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow := newUpstream(t, "slow", map[string]http.HandlerFunc{
		"/slow": func(w http.ResponseWriter, _ *http.Request) {
			entered <- struct{}{}
			<-release
			w.Write([]byte("finished"))
		},
	})
	b := newUpstream(t, "b", nil)
	vars := map[string]string{"A": a.URL, "B": b.URL, "S": slow.URL}
	gw := startGW(t, `
routes:
  - {name: r, path: /, upstreams: ["{{A}}"], auth: none}
  - {name: s, path: /slow, upstreams: ["{{S}}"], auth: none}
`, vars)
	readEcho(t, gw.do(t, "GET", "/x", nil, nil))

	// A request in flight survives the reload.
	var wg sync.WaitGroup
	var body string
	wg.Go(func() {
		resp, err := gw.srv.Client().Get(gw.srv.URL + "/slow")
		if err != nil {
			body = err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	})
	<-entered
	next := mustParse(t, `
routes:
  - {name: r, path: /, upstreams: ["{{B}}"], auth: none}
`, vars)
	if err := gw.Reload(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	if e := readEcho(t, gw.do(t, "GET", "/x", nil, nil)); e.Name != "b" {
		t.Fatalf("after reload: %s", e.Name)
	}
	close(release)
	wg.Wait()
	if body != "finished" {
		t.Fatalf("the request in flight got %q", body)
	}

	// A configuration that cannot be built is refused; the old one stays.
	// (An issuer that answers no discovery document is wrong; one that
	// does not answer at all may be down, and is fetched later.)
	noDiscovery := httptest.NewServer(http.NotFoundHandler())
	defer noDiscovery.Close()
	vars["X"] = noDiscovery.URL
	bad := mustParse(t, `
issuers: [{name: x, issuer: "{{X}}", audiences: [gw]}]
routes:
  - {name: r, path: /, upstreams: ["{{A}}"], auth: jwt}
`, vars)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := gw.Reload(ctx, bad)
	if err == nil || !strings.Contains(err.Error(), "issuers[0].issuer: discovery failed") {
		t.Fatalf("Reload of a bad issuer: %v", err)
	}
	if e := readEcho(t, gw.do(t, "GET", "/x", nil, nil)); e.Name != "b" {
		t.Fatalf("after a refused reload: %s", e.Name)
	}
	if m := scrape(t, gw); !strings.Contains(m, `gatehouse_gateway_config_reloads_total{result="error"} 1`) ||
		!strings.Contains(m, `gatehouse_gateway_config_reloads_total{result="ok"} 1`) {
		t.Errorf("reloads not counted:\n%s", grep(m, "reloads"))
	}
}

func TestReloadKeepsRateLimitCounts(t *testing.T) {
	u := newUpstream(t, "u", nil)
	yml := `
routes:
  - {name: r, path: /, upstreams: ["{{U}}"], auth: none, rate_limit: {key: ip, replenish_rate: 0.01, burst_capacity: 1}}
`
	vars := map[string]string{"U": u.URL}
	gw := startGW(t, yml, vars)
	readEcho(t, gw.do(t, "GET", "/", nil, nil))
	if err := gw.Reload(context.Background(), mustParse(t, yml, vars)); err != nil {
		t.Fatal(err)
	}
	problemOf(t, gw.do(t, "GET", "/", nil, nil), 429, TypeRateLimited)
}
