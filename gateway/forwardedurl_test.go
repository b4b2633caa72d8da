package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// TestForwardedOrigin: the origin of the values the client-facing proxy
// wrote, "" without them, and an error for headers that do not name one,
// such as values a client added before the proxy's.
func TestForwardedOrigin(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	xff := &forwardedOrigin{trusted: proxies}
	rfc := &forwardedOrigin{trusted: proxies, rfc7239: true}
	listed := &forwardedOrigin{trusted: proxies, hosts: map[string]bool{"api.example": true, "api.example.eu:8443": true}}
	const refused = "refused"
	tests := []struct {
		name   string
		f      *forwardedOrigin
		peer   string
		header http.Header
		want   string // refused: an error
	}{
		{"proto and host", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example"}}, "https://api.example"},
		{"proto, the request's Host", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"HTTPS"}}, "https://gw.internal:8080"},
		{"host with port", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"API.example:8443"}}, "https://api.example:8443"},
		{"IPv6 host", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"http"}, "X-Forwarded-Host": {"[2001:db8::1]:8080"}}, "http://[2001:db8::1]:8080"},
		{"no headers", xff, "10.1.2.3:5000", http.Header{}, ""},
		{"untrusted peer", xff, "192.0.2.7:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example"}}, ""},
		{"a client's host before the proxy's", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"other.example, api.example"}}, refused},
		{"a client's scheme before the proxy's", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"http, https"}, "X-Forwarded-Host": {"api.example"}}, refused},
		{"two host lines", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"other.example", "api.example"}}, refused},
		{"a CDN's copies of one value", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https, HTTPS"}, "X-Forwarded-Host": {"api.example, api.example", "API.example"}}, "https://api.example"},
		{"an empty proto", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {" "}, "X-Forwarded-Host": {"api.example"}}, refused},
		{"an empty value in a list", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https,"}, "X-Forwarded-Host": {"api.example"}}, refused},
		{"host without proto: the connection's scheme", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Host": {"api.example"}}, "http://api.example"},
		{"another scheme", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"wss"}, "X-Forwarded-Host": {"api.example"}}, refused},
		{"userinfo", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil@api.example"}}, refused},
		{"a path", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example/x"}}, refused},
		{"a query", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example?x"}}, refused},
		{"a bad port", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example:https"}}, refused},
		{"escaped", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api%2eexample"}}, refused},
		{"Forwarded not read for X-Forwarded", xff, "10.1.2.3:5000", http.Header{"Forwarded": {"proto=https;host=api.example"}}, ""},
		{"forwarded_hosts: a listed host", listed, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"API.example"}}, "https://api.example"},
		{"forwarded_hosts: a listed host and port", listed, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example.eu:8443"}}, "https://api.example.eu:8443"},
		{"forwarded_hosts: a host a client chose", listed, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"other.example"}}, refused},
		{"forwarded_hosts: another port", listed, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example:444"}}, refused},
		{"forwarded_hosts: the request's Host, not listed", listed, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}}, refused},
		{"forwarded_hosts: no headers", listed, "10.1.2.3:5000", http.Header{}, ""},

		{"Forwarded: the element of the proxy that saw the client", rfc, "10.1.2.3:5000",
			http.Header{"Forwarded": {`for=192.0.2.7;proto=https;host="api.example:443", for=10.1.2.4;proto=http;host=gw`}}, "https://api.example:443"},
		{"Forwarded: a client's element before the proxy's", rfc, "10.1.2.3:5000",
			http.Header{"Forwarded": {"for=198.51.100.9;proto=https;host=other.example, for=198.51.100.9;proto=https;host=api.example"}}, "https://api.example"},
		{"Forwarded: a client's line before the proxy's", rfc, "10.1.2.3:5000",
			http.Header{"Forwarded": {"host=other.example;proto=https", "for=198.51.100.9;proto=https;host=api.example"}}, "https://api.example"},
		{"Forwarded: a client's downgrade", rfc, "10.1.2.3:5000",
			http.Header{"Forwarded": {"proto=http, for=198.51.100.9;proto=https;host=api.example"}}, "https://api.example"},
		{"Forwarded: a client inside the trusted network", rfc, "10.1.2.3:5000",
			http.Header{"Forwarded": {"for=10.9.9.9;proto=https;host=api.example, for=10.1.2.4;proto=http;host=gw"}}, "https://api.example"},
		{"Forwarded: case of the names", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"For=192.0.2.7;Proto=https;Host=api.example"}}, "https://api.example"},
		{"Forwarded without host", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"for=192.0.2.7;proto=https"}}, "https://gw.internal:8080"},
		{"Forwarded without proto: the connection's scheme", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"for=192.0.2.7;host=api.example"}}, "http://api.example"},
		{"Forwarded: no for= in the only element", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"proto=https;host=api.example"}}, refused},
		{"Forwarded: a proxy that writes no for=, after a client's element", rfc, "10.1.2.3:5000",
			http.Header{"Forwarded": {"for=198.51.100.7;host=other.example", `proto=https;host="api.example"`}}, refused},
		{"Forwarded: a quoted comma", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {`for=192.0.2.7;proto=https;host="a,b"`}}, refused},
		{"Forwarded: the chosen element's scheme", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"for=192.0.2.7;proto=gopher;host=api.example"}}, refused},
		{"Forwarded: a hop without for=", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"for=192.0.2.7;proto=https;host=api.example, proto=http"}}, refused},
		{"Forwarded: a hop with an obfuscated for=", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"for=192.0.2.7;proto=https;host=api.example, for=_p1"}}, refused},
		{"Forwarded: a name twice", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"for=192.0.2.7;proto=https;proto=http;host=api.example"}}, refused},
		{"Forwarded: unterminated quote", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {`for=192.0.2.7;proto=https;host="api.example`}}, refused},
		{"Forwarded: empty", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {""}}, refused},
		{"Forwarded: untrusted peer", rfc, "192.0.2.9:5000", http.Header{"Forwarded": {"proto=gopher"}}, ""},
		{"X-Forwarded not read for Forwarded", rfc, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.peer, Host: "gw.internal:8080", Header: tc.header}
			got, err := tc.f.origin(r)
			if tc.want == refused {
				if err == nil || !errors.Is(err, errForwardedOrigin) {
					t.Fatalf("origin = %q, %v; want errForwardedOrigin", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("origin = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestForwardedElements: RFC 7239's syntax, quoted strings with their
// commas, semicolons and escapes; what does not parse fails whole.
func TestForwardedElements(t *testing.T) {
	for _, tc := range []struct {
		lines []string
		want  string // the elements as fmt prints them, or "error"
	}{
		{[]string{"for=1.2.3.4"}, "[map[for:1.2.3.4]]"},
		{[]string{`For="[2001:db8::1]:4711";proto=https, for=10.0.0.1`}, "[map[for:[2001:db8::1]:4711 proto:https] map[for:10.0.0.1]]"},
		{[]string{`host="a,b;c";for=x`}, "[map[for:x host:a,b;c]]"},
		{[]string{`host="a\"b"`}, `[map[host:a"b]]`},
		{[]string{"a=1", "b=2"}, "[map[a:1] map[b:2]]"},
		{[]string{" for = 1.2.3.4 ; proto = https "}, "[map[for:1.2.3.4 proto:https]]"},
		{[]string{"a=1;;b=2,,c=3"}, "[map[a:1 b:2] map[c:3]]"},
		{[]string{""}, "[]"},
		{[]string{"for"}, "error"},
		{[]string{"=x"}, "error"},
		{[]string{"a=1;A=2"}, "error"},
		{[]string{`a="x`}, "error"},
		{[]string{`a="x"y`}, "error"},
		{[]string{`a=x"y"`}, "error"},
	} {
		elems, err := forwardedElements(tc.lines)
		got := fmt.Sprint(elems)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("forwardedElements(%q) = %s (%v), want %s", tc.lines, got, err, tc.want)
		}
	}
}

// FuzzForwardedOrigin: whatever a proxy forwards, the origin is an error,
// "" (only when no header is there) or an http(s) origin with a host and
// nothing after it.
func FuzzForwardedOrigin(f *testing.F) {
	f.Add("https", "api.example:8443", `proto=https;host="api.example"`, "gw")
	f.Add("http, https", "[::1]:80, x", "for=1.2.3.4, proto=http", "")
	f.Add("HTTPS", "a@b/c?d#e", `host="`, "h:1")
	f.Add("https", "", `for=192.0.2.1;host="a\\"b", for=127.0.0.1;proto=http`, "h")
	f.Fuzz(func(t *testing.T, proto, host, forwarded, reqHost string) {
		hdr := http.Header{"X-Forwarded-Proto": {proto}, "X-Forwarded-Host": {host}, "Forwarded": {forwarded}}
		for _, rfc := range []bool{false, true} {
			f := &forwardedOrigin{trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, rfc7239: rfc}
			o, err := f.origin(&http.Request{RemoteAddr: "127.0.0.1:1", Host: reqHost, Header: hdr})
			if err != nil {
				if o != "" || !errors.Is(err, errForwardedOrigin) {
					t.Fatalf("origin %q with error %v", o, err)
				}
				continue
			}
			if o == "" {
				t.Fatalf("no origin and no error from proto %q host %q forwarded %q: the headers are there", proto, host, forwarded)
			}
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
				u.Path != "" || u.RawQuery != "" || u.Fragment != "" || o != u.Scheme+"://"+u.Host || strings.ContainsAny(o, `"\`) {
				t.Fatalf("origin %q from proto %q host %q forwarded %q Host %q is not an origin", o, proto, host, forwarded, reqHost)
			}
		}
	})
}

// TestGatewayDPoPForwarded: behind a trusted proxy that serves two hosts,
// each proof names the host and scheme its client used; from a peer that
// is not a proxy the headers count for nothing.
func TestGatewayDPoPForwarded(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	yml := strings.Replace(dpopGatewayYAML, `dpop: {external_url: "https://api.example"}`, "trusted_proxies: [127.0.0.1/32]\ndpop: {forwarded: true}", 1)
	gw := startGW(t, yml, map[string]string{"ISS": iss.URL, "U": u.URL})
	s, _ := dpop.GenerateSigner()
	raw := iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})
	via := func(host, proofURL string) map[string]string {
		h := dpopHeaders(raw, mustProof(t, s, proofURL, raw))
		h["X-Forwarded-Proto"], h["X-Forwarded-Host"] = "https", host
		return h
	}
	readEcho(t, gw.do(t, "GET", "/relay", via("api.example", "https://api.example/relay"), nil))
	readEcho(t, gw.do(t, "GET", "/relay", via("api.example.eu", "https://api.example.eu/relay"), nil))
	problemOf(t, gw.do(t, "GET", "/relay", via("api.example.eu", "https://api.example/relay"), nil), 401, guard.TypeInvalidDPoPProof)
	// Without the proxy's headers: the request's own scheme and Host.
	readEcho(t, gw.do(t, "GET", "/relay", dpopHeaders(raw, mustProof(t, s, gw.srv.URL+"/relay", raw)), nil))
	// A client's host before the one its proxy appended: neither counts,
	// and a header that cannot be read lets no proof pass, not even one
	// for the request's own scheme and Host (a proof captured over http).
	problemOf(t, gw.do(t, "GET", "/relay", via("other.example, api.example", "https://other.example/relay"), nil), 401, guard.TypeInvalidDPoPProof)
	problemOf(t, gw.do(t, "GET", "/relay", via("other.example, api.example", "https://api.example/relay"), nil), 401, guard.TypeInvalidDPoPProof)
	problemOf(t, gw.do(t, "GET", "/relay", via("a/b", gw.srv.URL+"/relay"), nil), 401, guard.TypeInvalidDPoPProof)

	// With forwarded_hosts, a host the proxy passed on from a client is
	// refused unless listed.
	listed := strings.Replace(yml, "dpop: {forwarded: true}", "dpop: {forwarded: true, forwarded_hosts: [api.example]}", 1)
	gwl := startGW(t, listed, map[string]string{"ISS": iss.URL, "U": u.URL})
	readEcho(t, gwl.do(t, "GET", "/relay", via("api.example", "https://api.example/relay"), nil))
	problemOf(t, gwl.do(t, "GET", "/relay", via("api.example.eu", "https://api.example.eu/relay"), nil), 401, guard.TypeInvalidDPoPProof)

	// With Forwarded, the element of the proxy that saw the client counts,
	// not one the client sent before it.
	rfc := strings.Replace(yml, "trusted_proxies: [127.0.0.1/32]", "trusted_proxies: [127.0.0.1/32]\nclient_ip_header: forwarded", 1)
	gwf := startGW(t, rfc, map[string]string{"ISS": iss.URL, "U": u.URL})
	viaForwarded := func(forwarded, proofURL string) map[string]string {
		h := dpopHeaders(raw, mustProof(t, s, proofURL, raw))
		h["Forwarded"] = forwarded
		return h
	}
	const injected = "for=198.51.100.9;proto=https;host=other.example, for=198.51.100.9;proto=https;host=api.example"
	readEcho(t, gwf.do(t, "GET", "/relay", viaForwarded(injected, "https://api.example/relay"), nil))
	problemOf(t, gwf.do(t, "GET", "/relay", viaForwarded(injected, "https://other.example/relay"), nil), 401, guard.TypeInvalidDPoPProof)
	problemOf(t, gwf.do(t, "GET", "/relay", viaForwarded("proto=http, for=198.51.100.9;proto=https;host=api.example", "http://api.example/relay"), nil), 401, guard.TypeInvalidDPoPProof)

	// The same gateway with no trusted proxy in front: the headers are a
	// client's, and do not name the URL.
	yml = strings.Replace(yml, "trusted_proxies: [127.0.0.1/32]", "trusted_proxies: [10.0.0.0/8]", 1)
	other := startGW(t, yml, map[string]string{"ISS": iss.URL, "U": u.URL})
	problemOf(t, other.do(t, "GET", "/relay", via("api.example", "https://api.example/relay"), nil), 401, guard.TypeInvalidDPoPProof)
}

func TestGatewayDPoPForwardedConfig(t *testing.T) {
	route := "routes:\n  - name: r\n    path: /\n    upstreams: [\"http://u\"]\n    auth: jwt\n"
	issuers := "issuers:\n  - {name: m, issuer: \"https://iss.example\", audiences: [a], jwks_file: x}\n"
	for name, tc := range map[string]struct{ yml, want string }{
		"no proxies": {"dpop: {forwarded: true}\n" + issuers + route, "gateway.yaml:1: dpop.forwarded: the forwarded scheme and host are read from trusted_proxies only"},
		"and external_url": {"trusted_proxies: [10.0.0.1]\ndpop: {forwarded: true, external_url: \"https://api.example\"}\n" + issuers + route,
			"gateway.yaml:2: dpop.forwarded: external_url and forwarded both say where requests are sent"},
		"hosts without forwarded": {"trusted_proxies: [10.0.0.1]\ndpop:\n  forwarded_hosts: [api.example]\n" + issuers + route,
			"gateway.yaml:3: dpop.forwarded_hosts: hosts are listed but dpop.forwarded is not true"},
		"a host with a path": {"trusted_proxies: [10.0.0.1]\ndpop:\n  forwarded: true\n  forwarded_hosts: [api.example, \"api.example/x\"]\n" + issuers + route,
			"gateway.yaml:4: dpop.forwarded_hosts: \"api.example/x\" is not a host as clients send it"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseConfig("gateway.yaml", []byte(tc.yml)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
