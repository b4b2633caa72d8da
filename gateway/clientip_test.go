package gateway

import (
	"net/http"
	"net/netip"
	"testing"
)

// TestIPv6ClientsByPrefix: one host holds a whole /64, so a limit keyed
// by ip that counted each IPv6 address apart would give it 2^64 buckets.
// Two addresses of one /64 share a bucket, another /64 has its own, and
// IPv4 addresses count whole; client_ipv6_prefix changes the length.
func TestIPv6ClientsByPrefix(t *testing.T) {
	up := newRecording(t)
	const cfg = `
trusted_proxies: [127.0.0.1]
rate_limit: {key: ip, replenish_rate: 0.001, burst_capacity: 1}
routes:
  - name: r
    path: /
    upstreams: ["{{U}}"]
    auth: none
`
	from := func(gw *testGW, addr string) int {
		t.Helper()
		return gw.do(t, "GET", "/", map[string]string{"X-Forwarded-For": addr}, nil).StatusCode
	}
	gw := startGW(t, cfg, map[string]string{"U": up.URL})
	for _, tc := range []struct {
		addr string
		want int
	}{
		{"2001:db8:1:2::1", 200},
		{"2001:db8:1:2:ffff:ffff:ffff:fffe", 429}, // the same /64
		{"2001:db8:1:3::1", 200},                  // another /64
		{"192.0.2.1", 200},
		{"192.0.2.2", 200}, // IPv4: whole addresses
		{"192.0.2.1", 429},
	} {
		if got := from(gw, tc.addr); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.addr, got, tc.want)
		}
	}
	whole := startGW(t, "client_ipv6_prefix: 128\n"+cfg, map[string]string{"U": up.URL})
	for _, addr := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2"} {
		if got := from(whole, addr); got != 200 {
			t.Errorf("client_ipv6_prefix 128, %s: %d, want 200", addr, got)
		}
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct {
		addr string
		bits int
		want string
	}{
		{"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::"},
		{"2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::"},
		{"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6"},
		{"192.0.2.7", 64, "192.0.2.7"},
	} {
		if got := clientKey(netip.MustParseAddr(tc.addr), tc.bits); got.String() != tc.want {
			t.Errorf("clientKey(%s, %d) = %s, want %s", tc.addr, tc.bits, got, tc.want)
		}
	}
	if _, err := ParseConfig("gateway.yaml", []byte("client_ipv6_prefix: 16\nroutes: [{name: r, path: /, upstreams: [\"http://127.0.0.1:1\"], auth: none}]\n")); err == nil {
		t.Error("client_ipv6_prefix 16 was accepted")
	}
}

// TestForwardedClientAddr: with client_ip_header: forwarded, the client
// is the right-most for= of Forwarded that is not a trusted proxy, read
// with RFC 7239's quoting: a comma inside a quoted value (such as a host
// the client chose) does not start an element whose for= it chose.
func TestForwardedClientAddr(t *testing.T) {
	st := &state{forwarded: true, trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct {
		forwarded []string
		want      string // "invalid": an unknown client, which the gateway refuses
	}{
		{[]string{"for=192.0.2.7"}, "192.0.2.7"},
		{[]string{"for=198.51.100.1, for=192.0.2.7, for=10.1.1.1"}, "192.0.2.7"},
		{[]string{`for=192.0.2.7;host="x, for=198.51.100.1"`}, "192.0.2.7"},
		{[]string{`for="[2001:db8::1]:4711"`}, "2001:db8::1"},
		{[]string{"for=198.51.100.1", "for=192.0.2.7"}, "192.0.2.7"},
		{[]string{"for=10.2.2.2;proto=https, for=10.1.1.1"}, "10.2.2.2"}, // all trusted: the left-most
		{[]string{"proto=https, for=10.1.1.1"}, "invalid"},               // the left-most has no for=
		// A proxy that writes no for= (HAProxy's option forwarded proto
		// host) after a client's element: the client's for= must not count.
		{[]string{"for=198.51.100.7", `proto=https;host="api.example"`}, "invalid"},
		{[]string{`for=192.0.2.7;host="x`}, "invalid"},
		{[]string{"for=192.0.2.7;for=198.51.100.1"}, "invalid"},
		{[]string{"for=unknown"}, "invalid"},
	} {
		r := &http.Request{RemoteAddr: "10.0.0.1:5000", Header: http.Header{"Forwarded": tc.forwarded}}
		a, trusted := st.clientAddr(r)
		got := a.String()
		if !a.IsValid() {
			got = "invalid"
		}
		if !trusted || got != tc.want {
			t.Errorf("Forwarded %q: client %s (trusted peer %v), want %s", tc.forwarded, got, trusted, tc.want)
		}
	}
}
