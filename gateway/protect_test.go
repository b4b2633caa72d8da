package gateway

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

func TestRateLimit(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startGW(t, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
rate_limit: {key: ip, replenish_rate: 1000, burst_capacity: 1000}
routes:
  - name: per-client
    path: /client
    upstreams: ["{{U}}"]
    auth: jwt
    rate_limit: {key: client_id, replenish_rate: 0.01, burst_capacity: 2}
  - name: per-header
    path: /header
    upstreams: ["{{U}}"]
    auth: none
    rate_limit: {key: "header:X-Api-Key", replenish_rate: 0.01, burst_capacity: 4, requested_tokens: 2}
`, map[string]string{"ISS": iss.URL, "U": u.URL})

	web := bearer(iss.Token(token.Claims{Subject: "a", ClientID: "web"}))
	cli := bearer(iss.Token(token.Claims{Subject: "b", ClientID: "cli"}))
	for i := range 2 {
		resp := gw.do(t, "GET", "/client", web, nil)
		readEcho(t, resp)
		if got, want := strings.Join(resp.Header.Values("RateLimit"), ","), fmt.Sprintf(`"route.per-client";r=%d`, 1-i); !strings.Contains(got, want) {
			t.Errorf("RateLimit %q, want prefix %q", got, want)
		}
		if got := resp.Header.Values("RateLimit-Policy"); len(got) != 2 {
			t.Errorf("RateLimit-Policy %q: want the global and the route policy", got)
		}
	}
	resp := gw.do(t, "GET", "/client", web, nil)
	problemOf(t, resp, 429, TypeRateLimited)
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("429 without Retry-After")
	}
	if !strings.Contains(strings.Join(resp.Header.Values("RateLimit-Policy"), ","), `"route.per-client";q=2;w=200`) {
		t.Errorf("RateLimit-Policy %q", resp.Header.Values("RateLimit-Policy"))
	}
	// Another client has its own bucket.
	readEcho(t, gw.do(t, "GET", "/client", cli, nil))

	// requested_tokens 2 of a burst of 4: two requests per key.
	k1 := map[string]string{"X-Api-Key": "k1"}
	readEcho(t, gw.do(t, "GET", "/header", k1, nil))
	readEcho(t, gw.do(t, "GET", "/header", k1, nil))
	problemOf(t, gw.do(t, "GET", "/header", k1, nil), 429, TypeRateLimited)
	readEcho(t, gw.do(t, "GET", "/header", map[string]string{"X-Api-Key": "k2"}, nil))

	if m := scrape(t, gw); !strings.Contains(m, `gatehouse_gateway_refused_total{reason="rate_limited",route="per-client"} 1`) {
		t.Errorf("rate limited not counted:\n%s", grep(m, "refused"))
	}
}

func TestGlobalRateLimitBySubject(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startGW(t, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
rate_limit: {key: sub, replenish_rate: 0.01, burst_capacity: 1}
routes:
  - {name: a, path: /a, upstreams: ["{{U}}"], auth: jwt}
  - {name: b, path: /b, upstreams: ["{{U}}"], auth: jwt}
`, map[string]string{"ISS": iss.URL, "U": u.URL})
	tok := bearer(iss.Token(token.Claims{Subject: "alice"}))
	readEcho(t, gw.do(t, "GET", "/a", tok, nil))
	problemOf(t, gw.do(t, "GET", "/b", tok, nil), 429, TypeRateLimited)
	readEcho(t, gw.do(t, "GET", "/b", bearer(iss.Token(token.Claims{Subject: "bob"})), nil))
}

func TestIPListsAndTrustedProxies(t *testing.T) {
	u := newUpstream(t, "u", nil)
	vars := map[string]string{"U": u.URL}
	routes := `
routes:
  - name: internal
    path: /internal
    upstreams: ["{{U}}"]
    auth: none
    ip: {allow: [10.0.0.0/8, "fd00::/8"], deny: [10.6.6.0/24]}
  - name: open
    path: /
    upstreams: ["{{U}}"]
    auth: none
`
	t.Run("untrusted peer cannot spoof", func(t *testing.T) {
		gw := startGW(t, "trusted_proxies: [192.0.2.0/24]\n"+routes, vars)
		resp := gw.do(t, "GET", "/internal", map[string]string{"X-Forwarded-For": "10.1.2.3", "Forwarded": "for=10.1.2.3"}, nil)
		problemOf(t, resp, 403, TypeIPDenied)
		e := readEcho(t, gw.do(t, "GET", "/open", map[string]string{"X-Forwarded-For": "10.1.2.3"}, nil))
		if got := e.Header.Get("X-Forwarded-For"); got != "127.0.0.1" {
			t.Fatalf("upstream X-Forwarded-For %q, want the peer only", got)
		}
		if !strings.Contains(gw.logs.String(), `"client":"127.0.0.1"`) {
			t.Fatalf("access log client is not the peer:\n%s", gw.logs.String())
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		gw := startGW(t, "trusted_proxies: [127.0.0.1/32, \"::1/128\"]\n"+routes, vars)
		e := readEcho(t, gw.do(t, "GET", "/internal", map[string]string{"X-Forwarded-For": "203.0.113.9, 10.1.2.3"}, nil))
		if got := e.Header.Get("X-Forwarded-For"); got != "203.0.113.9, 10.1.2.3, 127.0.0.1" {
			t.Fatalf("upstream X-Forwarded-For %q", got)
		}
		problemOf(t, gw.do(t, "GET", "/internal", map[string]string{"X-Forwarded-For": "10.6.6.6"}, nil), 403, TypeIPDenied)
		problemOf(t, gw.do(t, "GET", "/internal", map[string]string{"X-Forwarded-For": "203.0.113.9"}, nil), 403, TypeIPDenied)
		// Garbage where the proxy's address should be: the client is unknown, refused.
		problemOf(t, gw.do(t, "GET", "/internal", map[string]string{"X-Forwarded-For": "10.1.2.3, nonsense"}, nil), 400, TypeBadClientAddress)
		// X-Forwarded-For is the header read: a Forwarded header is the client's own.
		problemOf(t, gw.do(t, "GET", "/internal", map[string]string{"Forwarded": `for="[fd00::1]:443"`}, nil), 403, TypeIPDenied)
	})
	t.Run("trusted proxy writing Forwarded", func(t *testing.T) {
		gw := startGW(t, "trusted_proxies: [127.0.0.1/32, \"::1/128\"]\nclient_ip_header: forwarded\n"+routes, vars)
		readEcho(t, gw.do(t, "GET", "/internal", map[string]string{"Forwarded": `for="[fd00::1]:443";proto=https`}, nil))
		// The proxy writes Forwarded and passes the client's X-Forwarded-For on: not read.
		problemOf(t, gw.do(t, "GET", "/internal", map[string]string{"Forwarded": "for=203.0.113.9", "X-Forwarded-For": "10.1.1.1"}, nil), 403, TypeIPDenied)
	})
	t.Run("IPv4-mapped prefixes match IPv4 clients", func(t *testing.T) {
		gw := startGW(t, "ip: {deny: [\"::ffff:127.0.0.0/104\"]}\n"+routes, vars)
		problemOf(t, gw.do(t, "GET", "/open", nil, nil), 403, TypeIPDenied)
	})
	t.Run("global deny", func(t *testing.T) {
		gw := startGW(t, "ip: {deny: [127.0.0.0/8]}\n"+routes, vars)
		problemOf(t, gw.do(t, "GET", "/open", nil, nil), 403, TypeIPDenied)
	})
}

func TestClientAddr(t *testing.T) {
	st, fwd := &state{}, &state{forwarded: true}
	for _, p := range []string{"10.0.0.0/8", "2001:db8::/32"} {
		pf, _ := parsePrefix(p)
		st.trusted = append(st.trusted, pf)
	}
	fwd.trusted = st.trusted
	tests := []struct {
		name, remote, xff, fwd, want string
	}{
		{"untrusted peer", "198.51.100.1:1234", "1.2.3.4", "", "198.51.100.1"},
		{"untrusted v6 peer", "[2001:db9::1]:1", "1.2.3.4", "", "2001:db9::1"},
		{"trusted peer", "10.0.0.1:1", "1.2.3.4", "", "1.2.3.4"},
		{"rightmost untrusted", "10.0.0.1:1", "6.6.6.6, 1.2.3.4, 10.9.9.9", "", "1.2.3.4"},
		{"trusted v6 peer", "[2001:db8::5]:1", "2001:db9::7", "", "2001:db9::7"},
		{"forwarded", "10.0.0.1:1", "", `for=192.0.2.60;proto=http, for="[2001:db9::8]:4711"`, "2001:db9::8"},
		{"garbage is no address", "10.0.0.1:1", "1.2.3.4, nonsense", "", "invalid IP"},
		{"forwarded is not read by default", "10.0.0.1:1", "", `for=192.0.2.60`, "10.0.0.1"},
		{"only proxies", "10.0.0.1:1", "10.0.0.2", "", "10.0.0.2"},
		{"mapped v4", "[::ffff:10.0.0.1]:1", "1.2.3.4", "", "1.2.3.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.fwd != "" {
				r.Header.Set("Forwarded", tc.fwd)
			}
			s := st
			if tc.fwd != "" && tc.xff == "" && tc.name != "forwarded is not read by default" {
				s = fwd
			}
			got, _ := s.clientAddr(r)
			if got.String() != tc.want {
				t.Fatalf("client %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	u := newUpstream(t, "u", map[string]http.HandlerFunc{
		"/x": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "*") // the upstream's own: replaced
			w.Write([]byte("ok"))
		},
	})
	gw := startGW(t, `
routes:
  - name: app
    path: /
    methods: [GET, POST]
    upstreams: ["{{U}}"]
    auth: none
    cors:
      allowed_origins: ["https://app.example.com", "https://*.example.org"]
      allowed_headers: [Authorization, Content-Type]
      exposed_headers: [X-Request-Id]
      allow_credentials: true
      max_age: 10m
`, map[string]string{"U": u.URL})

	pre := func(origin, method, headers string) *http.Response {
		h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
		if headers != "" {
			h["Access-Control-Request-Headers"] = headers
		}
		return gw.do(t, "OPTIONS", "/x", h, nil)
	}
	resp := pre("https://app.example.com", "POST", "authorization, content-type")
	if resp.StatusCode != 204 {
		t.Fatalf("preflight status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":      "https://app.example.com",
		"Access-Control-Allow-Methods":     "GET, POST",
		"Access-Control-Allow-Headers":     "authorization, content-type",
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Max-Age":           "600",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if resp := pre("https://a.b.example.org", "GET", ""); resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://a.b.example.org" {
		t.Errorf("pattern origin refused: %d", resp.StatusCode)
	}
	for _, bad := range []struct{ origin, method, headers string }{
		{"https://evil.example", "GET", ""},
		{"https://example.org", "GET", ""},          // the pattern needs a label
		{"http://app.example.org", "GET", ""},       // scheme
		{"https://app.example.org.evil", "GET", ""}, // suffix
		{"https://app.example.com", "DELETE", ""},
		{"https://app.example.com", "GET", "X-Other"},
	} {
		problemOf(t, pre(bad.origin, bad.method, bad.headers), 403, TypeCORSRefused)
	}
	// OPTIONS that is not a preflight is not a method of the route.
	problemOf(t, gw.do(t, "OPTIONS", "/x", map[string]string{"Origin": "https://app.example.com"}, nil), 404, TypeNoRoute)
	resp = gw.do(t, "GET", "/x", map[string]string{"Origin": "https://app.example.com"}, nil)
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || resp.Header.Get("Access-Control-Expose-Headers") != "X-Request-Id" {
		t.Errorf("actual request CORS headers %v", resp.Header)
	}
	if v := resp.Header.Values("Access-Control-Allow-Origin"); len(v) != 1 {
		t.Errorf("Allow-Origin %q: the upstream's must be replaced", v)
	}
	resp = gw.do(t, "GET", "/x", map[string]string{"Origin": "https://evil.example"}, nil)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("an unknown origin got Allow-Origin %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestLimits(t *testing.T) {
	block := make(chan struct{})
	entered := make(chan struct{}, 1)
	u := newUpstream(t, "u", map[string]http.HandlerFunc{
		"/block": func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-block
		},
	})
	gw := startGW(t, `
limits: {max_body_bytes: 1000, max_header_bytes: 4096, max_url_length: 100, read_header_timeout: 200ms, max_concurrent: 1}
routes:
  - name: small
    path: /small
    upstreams: ["{{U}}"]
    auth: none
    max_body_bytes: 10
  - name: u
    path: /
    upstreams: ["{{U}}"]
    auth: none
`, map[string]string{"U": u.URL})

	problemOf(t, gw.do(t, "POST", "/x", nil, strings.NewReader(strings.Repeat("a", 1001))), 413, TypePayloadTooLarge)
	problemOf(t, gw.do(t, "POST", "/small", nil, strings.NewReader(strings.Repeat("a", 11))), 413, TypePayloadTooLarge)
	// Chunked: no Content-Length, cut while streaming.
	problemOf(t, gw.do(t, "POST", "/small", nil, io.MultiReader(strings.NewReader(strings.Repeat("a", 50)))), 413, TypePayloadTooLarge)
	if e := readEcho(t, gw.do(t, "POST", "/small", nil, strings.NewReader("0123456789"))); e.BodyLen != 10 {
		t.Fatalf("body of 10 arrived as %d", e.BodyLen)
	}
	problemOf(t, gw.do(t, "GET", "/"+strings.Repeat("a", 100), nil, nil), 414, TypeURITooLong)

	// Over the limit: 431 problem+json from the gateway; at the limit: through.
	problemOf(t, gw.do(t, "GET", "/", map[string]string{"X-Big": strings.Repeat("b", 4200)}, nil), 431, TypeHeadersTooLarge)
	if resp := gw.do(t, "GET", "/", map[string]string{"X-Big": strings.Repeat("b", 3000)}, nil); resp.StatusCode != 200 {
		t.Fatalf("headers under the limit: %d", resp.StatusCode)
	}
	// Far over it (twice the limit, plus net/http's slack of 4096 bytes, 8192
	// on a reused connection): net/http cuts the request before the handler.
	resp := gw.do(t, "GET", "/", map[string]string{"X-Big": strings.Repeat("b", 2*4096+8192+100)}, nil)
	if resp.StatusCode != 431 {
		t.Fatalf("huge headers: %d, want 431", resp.StatusCode)
	}

	// A slow client that never finishes its headers is cut.
	conn, err := net.Dial("tcp", gw.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := bufio.NewReader(conn).ReadString('\n'); err == nil || time.Since(start) > 4*time.Second {
		// Go answers nothing (or a 408) and closes: either way the read ends.
		if err == nil {
			t.Log("the server answered the slow client before closing")
		} else {
			t.Fatalf("the slow client was not cut: %v", err)
		}
	}

	// One request in flight is the cap: the next is 503.
	var wg sync.WaitGroup
	wg.Go(func() {
		resp, err := gw.srv.Client().Get(gw.srv.URL + "/block")
		if err == nil {
			resp.Body.Close()
		}
	})
	<-entered
	resp = gw.do(t, "GET", "/", nil, nil)
	problemOf(t, resp, 503, TypeOverloaded)
	if resp.Header.Get("Retry-After") != "1" {
		t.Errorf("503 without Retry-After")
	}
	close(block)
	wg.Wait()
	readEcho(t, gw.do(t, "GET", "/", nil, nil))
}

func TestSecurityHeadersAndTLS(t *testing.T) {
	u := newUpstream(t, "u", map[string]http.HandlerFunc{
		"/frame": func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Frame-Options", "ALLOWALL")
			w.Write([]byte("ok"))
		},
	})
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, "first")
	yml := `
tls: {cert_file: "{{CERT}}", key_file: "{{KEY}}"}
security_headers: {hsts_include_subdomains: true, referrer_policy: "-", extra: {Permissions-Policy: "camera=()"}}
routes:
  - {name: u, path: /, upstreams: ["{{U}}"], auth: none}
`
	gw := startGW(t, yml, map[string]string{"U": u.URL, "CERT": certFile, "KEY": keyFile})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(path string) *http.Response {
		resp, err := client.Get(gw.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := get("/frame")
	for k, want := range map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Strict-Transport-Security": "max-age=31536000; includeSubDomains",
		"Permissions-Policy":        "camera=()",
		"Referrer-Policy":           "",
	} {
		if got := resp.Header.Values(k); strings.Join(got, "|") != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if cn := resp.TLS.PeerCertificates[0].Subject.CommonName; cn != "first" {
		t.Fatalf("certificate %q", cn)
	}
	// A new certificate on disk is served without a restart.
	time.Sleep(10 * time.Millisecond)
	writeCert(t, certFile, keyFile, "second")
	future := time.Now().Add(2 * time.Second)
	os.Chtimes(certFile, future, future)
	deadline := time.Now().Add(5 * time.Second)
	for {
		client.Transport.(*http.Transport).CloseIdleConnections()
		if cn := get("/").TLS.PeerCertificates[0].Subject.CommonName; cn == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new certificate was not served")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Without TLS: no HSTS.
	plain := startGW(t, `routes: [{name: u, path: /, upstreams: ["{{U}}"], auth: none}]`, map[string]string{"U": u.URL})
	resp = plain.do(t, "GET", "/", nil, nil)
	if resp.Header.Get("Strict-Transport-Security") != "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("plain headers %v", resp.Header)
	}
}

func writeCert(t testing.TB, certFile, keyFile, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

// TestMaxConcurrentPerClient: one client cannot hold more slots than its
// share; when its request ends, the slot is free again.
func TestMaxConcurrentPerClient(t *testing.T) {
	entered, block := make(chan struct{}, 1), make(chan struct{})
	u := newUpstream(t, "u", map[string]http.HandlerFunc{
		"/block": func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			<-block
		},
	})
	gw := startGW(t, `
limits: {max_concurrent: 10, max_concurrent_per_client: 1}
routes:
  - name: u
    path: /
    upstreams: ["{{U}}"]
    auth: none
`, map[string]string{"U": u.URL})
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest("GET", gw.srv.URL+"/block", nil)
		resp, err := gw.srv.Client().Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-entered
	resp := gw.do(t, "GET", "/x", nil, nil)
	problemOf(t, resp, 429, TypeTooManyInFlight)
	if resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	close(block)
	if status := <-done; status != 200 {
		t.Fatalf("the blocked request: %d", status)
	}
	readEcho(t, gw.do(t, "GET", "/x", nil, nil))
}
