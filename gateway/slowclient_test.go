package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/tokentest"
)

// TestSlowBodiesAreCut: a client announces a body of 100000 bytes and
// sends one, or sends one byte at a time without end. The gateway answers
// 408 (problem+json) and closes the connection, instead of holding it and
// a goroutine for as long as the client likes; a route that refuses the
// request without reading the body answers and closes too. The bounds are
// short in the test: what is asserted is the cut, not its time.
func TestSlowBodiesAreCut(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	up := newRecording(t)
	const routes = `
issuers: [{name: main, issuer: {{ISS}}, audiences: [gateway]}]
routes:
  - name: open
    path: /open
    upstreams: ["{{U}}"]
    auth: none
  - name: closed
    path: /closed
    upstreams: ["{{U}}"]
    auth: jwt
`
	vars := map[string]string{"ISS": iss.URL, "U": up.URL}
	stalled := startGW(t, "limits: {body_idle_timeout: 50ms, body_timeout: 1h}\n"+routes, vars)
	trickled := startGW(t, "limits: {body_idle_timeout: 1h, body_timeout: 100ms}\n"+routes, vars)

	for _, tc := range []struct {
		name   string
		gw     *testGW
		path   string
		drip   bool
		status int
		typ    string
	}{
		{"stalled body", stalled, "/open", false, http.StatusRequestTimeout, TypeRequestTimeout},
		{"trickled body", trickled, "/open", true, http.StatusRequestTimeout, TypeRequestTimeout},
		{"stalled body of a refused request", stalled, "/closed", false, http.StatusUnauthorized, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := tc.gw.rawConn(t)
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: gw\r\nContent-Length: 100000\r\n\r\na", tc.path)
			if tc.drip {
				go func() {
					for {
						if _, err := conn.Write([]byte("a")); err != nil {
							return // the gateway closed the connection
						}
						time.Sleep(5 * time.Millisecond)
					}
				}()
			}
			resp, br := readRaw(t, conn)
			problemOf(t, resp, tc.status, tc.typ)
			if !closed(t, br) {
				t.Fatal("the connection stayed open after the cut")
			}
		})
	}
	up.got()
	// A body that arrives in time passes.
	resp := stalled.do(t, "POST", "/open", nil, io.LimitReader(zeros{}, 200000))
	if resp.StatusCode != 200 {
		t.Fatalf("a timely body: %d", resp.StatusCode)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestConnectionsPerAddress: one address opens connections past
// limits.max_connections_per_ip; the next one is closed at once, while
// another address (127.0.0.2) is served and a trusted proxy (127.0.0.3)
// is not counted.
func TestConnectionsPerAddress(t *testing.T) {
	up := newRecording(t)
	gw := startGW(t, `
trusted_proxies: [127.0.0.3]
limits: {max_connections_per_ip: 2}
routes:
  - name: r
    path: /
    upstreams: ["{{U}}"]
    auth: none
`, map[string]string{"U": up.URL})
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", gw.srv.Listener.Addr().String())
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(20 * time.Second)) // against a hang only
		return c
	}
	// served sends a keep-alive request on c and reports whether it was
	// answered (false: the gateway closed c).
	served := func(c net.Conn) bool {
		t.Helper()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: gw\r\n\r\n"); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if isTimeout(err) {
			t.Fatalf("neither served nor closed: %v", err)
		}
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	for range 2 {
		if !served(dial("127.0.0.1")) {
			t.Fatal("a connection within the bound was not served")
		}
	}
	if served(dial("127.0.0.1")) {
		t.Fatal("the third connection of 127.0.0.1 was served; the bound is 2")
	}
	if !served(dial("127.0.0.2")) {
		t.Fatal("127.0.0.2 was refused for the connections of 127.0.0.1")
	}
	for range 3 {
		if !served(dial("127.0.0.3")) {
			t.Fatal("a trusted proxy's connections were counted")
		}
	}
	if m := scrape(t, gw); !strings.Contains(m, "gatehouse_gateway_connections_refused_total 1\n") {
		t.Fatal("gatehouse_gateway_connections_refused_total is not 1")
	}
}
