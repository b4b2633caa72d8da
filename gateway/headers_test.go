package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestContentLengthWithTransferEncoding: a request with both framings
// (the CL.TE smuggling probe) followed on the same connection by a second
// request. The gateway, the edge, answers the first with Connection:
// close and closes: the bytes after it are never read as a request (RFC
// 9112 §6.1). A plain chunked body is treated alike (net/http drops the
// Content-Length, so the two cannot be told apart); a Content-Length body
// keeps the connection.
func TestContentLengthWithTransferEncoding(t *testing.T) {
	up := newRecording(t)
	gw := startGW(t, `
routes:
  - name: r
    path: /
    upstreams: ["{{U}}"]
    auth: none
`, map[string]string{"U": up.URL})
	second := "GET /second HTTP/1.1\r\nHost: gw\r\n\r\n"
	for _, tc := range []struct {
		name, req string
		closes    bool
	}{
		{"CL and TE", "POST /first HTTP/1.1\r\nHost: gw\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true},
		{"TE and CL", "POST /first HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n3\r\nabc\r\n0\r\n\r\n", true},
		{"chunked", "POST /first HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", true},
		{"Content-Length", "POST /first HTTP/1.1\r\nHost: gw\r\nContent-Length: 3\r\n\r\nabc", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, br := gw.raw(t, tc.req+second)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if tc.closes {
				if !resp.Close {
					t.Error("the answer does not say Connection: close")
				}
				if !closed(t, br) {
					t.Error("the connection stayed open: the bytes after the body were read as a request")
				}
			} else if _, err := http.ReadResponse(br, nil); err != nil {
				t.Errorf("the second request of a kept connection got no answer: %v", err)
			}
			want := []string{"POST /first"}
			if !tc.closes {
				want = append(want, "GET /second")
			}
			if seen, _ := up.got(); !slices.Equal(seen, want) {
				t.Errorf("the upstream got %q, want %q", seen, want)
			}
		})
	}
}

// TestUpgrades: "Upgrade: h2c" (h2c smuggling: an upstream that accepts it
// speaks HTTP/2 with the client past the gateway's rules) and any other
// upgrade but WebSocket never reach the upstream, nor does HTTP2-Settings;
// the request is served as a plain one. WebSocket still upgrades.
func TestUpgrades(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	// An upstream that switches to any protocol it is asked for, then
	// echoes.
	up := httpTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Clone())
		mu.Unlock()
		proto := r.Header.Get("Upgrade")
		if proto == "" {
			w.Write([]byte("plain"))
			return
		}
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", proto)
		line, _ := brw.ReadString('\n')
		io.WriteString(c, line)
	}))
	gw := startGW(t, `
routes:
  - name: r
    path: /
    upstreams: ["{{U}}"]
    auth: none
`, map[string]string{"U": up})
	last := func() http.Header {
		mu.Lock()
		defer mu.Unlock()
		return got[len(got)-1]
	}

	for _, tc := range []struct{ name, hdr string }{
		{"h2c", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"},
		{"h2c, HTTP2-Settings not named hop-by-hop", "Connection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"},
		{"h2c in capitals", "Connection: Upgrade\r\nUpgrade: H2C\r\n"},
		{"websocket and h2c", "Connection: Upgrade\r\nUpgrade: websocket, h2c\r\n"},
		{"TLS", "Connection: Upgrade\r\nUpgrade: TLS/1.0\r\n"},
		{"HTTP2-Settings alone", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := gw.raw(t, "GET /x HTTP/1.1\r\nHost: gw\r\n"+tc.hdr+"\r\n")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d, want the plain answer", resp.StatusCode)
			}
			h := last()
			if v, ok := h["Upgrade"]; ok {
				t.Errorf("the upstream got Upgrade: %q", v)
			}
			if v, ok := h["Http2-Settings"]; ok {
				t.Errorf("the upstream got HTTP2-Settings: %q", v)
			}
		})
	}

	// WebSocket: switched, then the bytes flow both ways.
	conn := gw.rawConn(t)
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("websocket: %v %v", resp, err)
	}
	io.WriteString(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("through the upgraded connection: %q %v", line, err)
	}
	if v := last().Get("Upgrade"); !strings.EqualFold(v, "websocket") {
		t.Fatalf("the upstream got Upgrade %q", v)
	}
}

// TestAuthNoneStripsTheToken: a route that checks no token does not pass
// the caller's on (it was meant for the routes that check it); written out,
// downstream: relay keeps it.
func TestAuthNoneStripsTheToken(t *testing.T) {
	up := newRecording(t)
	gw := startGW(t, `
routes:
  - name: public
    path: /public
    upstreams: ["{{U}}"]
    auth: none
  - name: relayed
    path: /relayed
    upstreams: ["{{U}}"]
    auth: none
    downstream: relay
`, map[string]string{"U": up.URL})
	hdr := map[string]string{"Authorization": "Bearer some.caller.token"}
	gw.do(t, "GET", "/public", hdr, nil)
	gw.do(t, "GET", "/relayed", hdr, nil)
	_, hdrs := up.got()
	if len(hdrs) != 2 {
		t.Fatalf("the upstream got %d requests", len(hdrs))
	}
	if v := hdrs[0].Get("Authorization"); v != "" {
		t.Errorf("auth: none relayed the caller's token: %q", v)
	}
	if v := hdrs[1].Get("Authorization"); v != "Bearer some.caller.token" {
		t.Errorf("downstream: relay dropped the token: %q", v)
	}
}
