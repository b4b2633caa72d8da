package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeAuthServerSlowClients: the auth server's listener cuts a
// request body that stalls (a slow POST to the token endpoint: Content-
// Length 100000, one byte sent) and closes the connection, and closes the
// connection of an address past authserver.limits.max_connections_per_ip
// while another address is served. The bounds are short in the test:
// what is asserted is the cut, not its time.
func TestServeAuthServerSlowClients(t *testing.T) {
	dir := t.TempDir()
	s := startServe(t, dir, func(addr string) string {
		return "authserver:\n  issuer: http://" + addr + "\n  listen: " + addr + "\n  data: " + filepath.Join(dir, "data") +
			"\n  limits: {body_idle_timeout: 50ms, max_connections_per_ip: 2}\n"
	})
	addr := strings.TrimPrefix(s.url, "http://")
	// The readiness probe's connections come from 127.0.0.1: the test's
	// own from other loopback addresses.
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial from %s: %v", from, err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(20 * time.Second)) // against a hang only
		return c
	}

	conn := dial("127.0.0.4")
	fmt.Fprintf(conn, "POST /oauth2/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ng", addr)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err == nil { // an answer (400) before the close
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("a stalled body got %d", resp.StatusCode)
		}
		_, err = br.ReadByte()
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatal("the stalled body was not cut: the connection stayed open")
	case err == nil:
		t.Fatal("the connection of a stalled body stayed open")
	}

	served := func(c net.Conn) bool {
		t.Helper()
		if _, err := fmt.Fprintf(c, "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("neither served nor closed: %v", err)
		}
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	for range 2 {
		if !served(dial("127.0.0.5")) {
			t.Fatal("a connection within the bound was not served")
		}
	}
	if served(dial("127.0.0.5")) {
		t.Fatal("the third connection of 127.0.0.5 was served; the bound is 2")
	}
	if !served(dial("127.0.0.6")) {
		t.Fatal("127.0.0.6 was refused for the connections of 127.0.0.5")
	}
}
