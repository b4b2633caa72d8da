package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// echo is what the echo upstream answers: the request as it arrived.
type echo struct {
	Name    string      `json:"name"`
	Method  string      `json:"method"`
	Path    string      `json:"path"`
	Query   string      `json:"query"`
	Host    string      `json:"host"`
	Header  http.Header `json:"header"`
	BodyLen int         `json:"body_len"`
}

// newUpstream starts an upstream that answers its name and the request as
// JSON; extra handlers may take paths first.
func newUpstream(t testing.TB, name string, extra map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range extra {
		mux.HandleFunc(p, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", name)
		json.NewEncoder(w).Encode(echo{Name: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Host: r.Host, Header: r.Header, BodyLen: int(n)})
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testGW is a gateway serving on an httptest server.
type testGW struct {
	*Gateway
	srv  *httptest.Server
	logs *syncBuffer
	reg  *prometheus.Registry
}

// startGW parses yml (with {{KEY}} replaced from vars), builds the gateway
// and serves it with the server settings of NewServer.
func startGW(t testing.TB, yml string, vars map[string]string, opts ...func(*Options)) *testGW {
	t.Helper()
	cfg := mustParse(t, yml, vars)
	logs := &syncBuffer{}
	reg := prometheus.NewRegistry()
	o := Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Registerer: reg}
	for _, f := range opts {
		f(&o)
	}
	g, err := New(context.Background(), cfg, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	srv := httptest.NewUnstartedServer(nil)
	hs := g.NewServer()
	srv.Config = hs
	if hs.TLSConfig != nil {
		srv.TLS = hs.TLSConfig
		srv.StartTLS()
		// httptest adds its own certificate, which tls prefers to
		// GetCertificate for clients without SNI: serve ours only.
		srv.TLS.Certificates = nil
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return &testGW{Gateway: g, srv: srv, logs: logs, reg: reg}
}

func mustParse(t testing.TB, yml string, vars map[string]string) *Config {
	t.Helper()
	cfg, err := ParseConfig("gateway.yaml", []byte(expand(yml, vars)))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	return cfg
}

func expand(yml string, vars map[string]string) string {
	var pairs []string
	for k, v := range vars {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	return strings.NewReplacer(pairs...).Replace(yml)
}

// do sends a request through the gateway.
func (g *testGW) do(t testing.TB, method, path string, hdr map[string]string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, g.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readEcho decodes the echo upstream's answer.
func readEcho(t testing.TB, resp *http.Response) echo {
	t.Helper()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, want 200: %s", resp.StatusCode, b)
	}
	var e echo
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("decoding the upstream's answer: %v", err)
	}
	return e
}

// problemOf checks that resp is a problem with status and type, and
// returns its body.
func problemOf(t testing.TB, resp *http.Response, status int, typ string) map[string]any {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json (body %s)", ct, b)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("problem body %s: %v", b, err)
	}
	if typ != "" && p["type"] != typ {
		t.Fatalf("problem type %v, want %s", p["type"], typ)
	}
	if int(p["status"].(float64)) != status {
		t.Fatalf("problem status %v, want %d", p["status"], status)
	}
	return p
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func httpTestServer(t testing.TB, h http.Handler) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}
