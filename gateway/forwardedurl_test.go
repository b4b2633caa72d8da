package gateway

import (
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

func TestForwardedOrigin(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	xff := &forwardedOrigin{trusted: proxies}
	rfc := &forwardedOrigin{trusted: proxies, rfc7239: true}
	tests := []struct {
		name   string
		f      *forwardedOrigin
		peer   string
		header http.Header
		want   string
	}{
		{"proto and host", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example"}}, "https://api.example"},
		{"proto, the request's Host", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"HTTPS"}}, "https://gw.internal:8080"},
		{"host with port", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"API.example:8443"}}, "https://api.example:8443"},
		{"IPv6 host", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"http"}, "X-Forwarded-Host": {"[2001:db8::1]:8080"}}, "http://[2001:db8::1]:8080"},
		{"the first of a list", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https, http"}, "X-Forwarded-Host": {"api.example, gw.internal", "other"}}, "https://api.example"},
		{"untrusted peer", xff, "192.0.2.7:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example"}}, ""},
		{"no proto", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Host": {"api.example"}}, ""},
		{"another scheme", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"wss"}, "X-Forwarded-Host": {"api.example"}}, ""},
		{"userinfo", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil@api.example"}}, ""},
		{"a path", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example/x"}}, ""},
		{"a query", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example?x"}}, ""},
		{"a bad port", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example:https"}}, ""},
		{"escaped", xff, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api%2eexample"}}, ""},
		{"Forwarded not read for X-Forwarded", xff, "10.1.2.3:5000", http.Header{"Forwarded": {"proto=https;host=api.example"}}, ""},
		{"Forwarded", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {`for=192.0.2.7;proto=https;host="api.example:443", for=10.1.2.3;proto=http;host=gw`}}, "https://api.example:443"},
		{"Forwarded, case of the names", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"Proto=https;Host=api.example"}}, "https://api.example"},
		{"Forwarded without host", rfc, "10.1.2.3:5000", http.Header{"Forwarded": {"for=192.0.2.7;proto=https"}}, "https://gw.internal:8080"},
		{"X-Forwarded not read for Forwarded", rfc, "10.1.2.3:5000", http.Header{"X-Forwarded-Proto": {"https"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.peer, Host: "gw.internal:8080", Header: tc.header}
			if got := tc.f.origin(r); got != tc.want {
				t.Fatalf("origin = %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzForwardedOrigin: whatever a proxy forwards, the origin is "" or an
// http(s) origin with a host and nothing after it.
func FuzzForwardedOrigin(f *testing.F) {
	f.Add("https", "api.example:8443", `proto=https;host="api.example"`, "gw")
	f.Add("http, https", "[::1]:80, x", "for=1.2.3.4, proto=http", "")
	f.Add("HTTPS", "a@b/c?d#e", `host="`, "h:1")
	f.Fuzz(func(t *testing.T, proto, host, forwarded, reqHost string) {
		hdr := http.Header{"X-Forwarded-Proto": {proto}, "X-Forwarded-Host": {host}, "Forwarded": {forwarded}}
		for _, rfc := range []bool{false, true} {
			f := &forwardedOrigin{trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, rfc7239: rfc}
			o := f.origin(&http.Request{RemoteAddr: "127.0.0.1:1", Host: reqHost, Header: hdr})
			if o == "" {
				continue
			}
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil ||
				u.Path != "" || u.RawQuery != "" || u.Fragment != "" || o != u.Scheme+"://"+u.Host {
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
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseConfig("gateway.yaml", []byte(tc.yml)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
