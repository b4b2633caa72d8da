package connlimit

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// echoServer accepts on a Listener bounded by cfg and answers each byte a
// connection sends with the same byte.
func echoServer(t *testing.T, cfg Config) *Listener {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := NewListener(inner, cfg)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln
}

// dialFrom connects to ln from the loopback address local.
func dialFrom(t *testing.T, ln net.Listener, local string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// served reports whether the server answers on c (false: it closed c).
func served(t *testing.T, c net.Conn) bool {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second)) // against a hang only
	if _, err := c.Write([]byte("x")); err != nil {
		return false
	}
	b := make([]byte, 1)
	_, err := io.ReadFull(c, b)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("neither served nor closed: %v", err)
	}
	return err == nil
}

// The attack: one address opens more connections than the bound. The
// connection past it is closed; another address is still served; a slot
// that closes is free again.
func TestConnectionsPerAddress(t *testing.T) {
	ln := echoServer(t, Config{MaxPerAddr: 2})
	a1, a2 := dialFrom(t, ln, "127.0.0.1"), dialFrom(t, ln, "127.0.0.1")
	if ok1, ok2 := served(t, a1), served(t, a2); !ok1 || !ok2 {
		t.Fatal("connections within the bound were not served")
	}
	if served(t, dialFrom(t, ln, "127.0.0.1")) {
		t.Fatal("the third connection of 127.0.0.1 was served, bound 2")
	}
	if !served(t, dialFrom(t, ln, "127.0.0.2")) {
		t.Fatal("127.0.0.2 was refused for 127.0.0.1's connections")
	}
	if got := ln.Refused(); got != 1 {
		t.Fatalf("Refused() = %d, want 1", got)
	}
	a1.Close()
	// The server sees the close when its read ends; until then the slot
	// is taken. Dial until a connection is served.
	for i := 0; ; i++ {
		if served(t, dialFrom(t, ln, "127.0.0.1")) {
			break
		}
		if i == 1000 {
			t.Fatal("a closed connection's slot was not given back")
		}
		time.Sleep(time.Millisecond)
	}
}

// Exempt peers (trusted proxies) are not counted.
func TestExemptPeers(t *testing.T) {
	proxy := netip.MustParseAddr("127.0.0.3")
	ln := echoServer(t, Config{MaxPerAddr: 1, Exempt: func(a netip.Addr) bool { return a == proxy }})
	for range 3 {
		if !served(t, dialFrom(t, ln, "127.0.0.3")) {
			t.Fatal("an exempt peer was refused")
		}
	}
}

func TestKeys(t *testing.T) {
	l := NewListener(nil, Config{MaxPerAddr: 1, IPv6PrefixBits: 64})
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7:1", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:1", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa::1]:1", "2001:db8:1:2::"},
		{"[2001:db8:1:2:bbbb::9]:1", "2001:db8:1:2::"},
		{"[fe80::1%eth0]:1", "fe80::"},
	} {
		got, ok := l.key(net.TCPAddrFromAddrPort(netip.MustParseAddrPort(tc.addr)))
		if !ok || got.String() != tc.want {
			t.Errorf("key(%s) = %v %v, want %s", tc.addr, got, ok, tc.want)
		}
	}
	if _, ok := l.key(&net.UnixAddr{Name: "/tmp/x", Net: "unix"}); ok {
		t.Error("a unix socket peer is counted")
	}
}
