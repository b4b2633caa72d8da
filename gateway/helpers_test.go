package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

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
	return startGWConfig(t, mustParse(t, yml, vars), opts...)
}

// startGWConfig is startGW of a parsed configuration.
func startGWConfig(t testing.TB, cfg *Config, opts ...func(*Options)) *testGW {
	t.Helper()
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
	srv.Listener = g.Listener(srv.Listener) // limits.max_connections_per_ip
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

// rawConn opens a connection to the gateway's listener, for requests that
// net/http's client would not send as written (a lowercase method, both
// Content-Length and Transfer-Encoding, a stalled body, dot segments).
func (g *testGW) rawConn(t testing.TB) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", g.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// Against a hang only: every read below ends long before.
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	return conn
}

// raw writes req (a whole request, "\r\n" line ends) on a new connection
// and returns the answer, its body read, and the reader for what follows.
func (g *testGW) raw(t testing.TB, req string) (*http.Response, *bufio.Reader) {
	t.Helper()
	conn := g.rawConn(t)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return readRaw(t, conn)
}

// readRaw reads one answer from conn, with its body.
func readRaw(t testing.TB, conn net.Conn) (*http.Response, *bufio.Reader) {
	t.Helper()
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, br
}

// closed reports whether the server closed the connection behind br
// (after the answer read from it), failing t when it neither closed nor
// sent more before the connection's guard deadline.
func closed(t testing.TB, br *bufio.Reader) bool {
	t.Helper()
	_, err := br.ReadByte()
	if isTimeout(err) {
		t.Fatalf("the server neither closed the connection nor sent more: %v", err)
	}
	return err != nil
}

// recording is an upstream that notes "METHOD path" of every request it
// gets (and its headers), and answers 200.
type recording struct {
	URL  string
	mu   sync.Mutex
	seen []string
	hdrs []http.Header
}

func newRecording(t testing.TB) *recording {
	rec := &recording{}
	rec.URL = httpTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Method+" "+r.URL.Path)
		rec.hdrs = append(rec.hdrs, r.Header.Clone())
		rec.mu.Unlock()
		w.Write([]byte("ok"))
	}))
	return rec
}

// got returns what the upstream was sent, and forgets it.
func (rec *recording) got() ([]string, []http.Header) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	s, h := rec.seen, rec.hdrs
	rec.seen, rec.hdrs = nil, nil
	return s, h
}
