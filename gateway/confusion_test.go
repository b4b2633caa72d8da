package gateway

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// TestPathAndHostConfusion: a request that the gateway would route by a
// weaker route's rules than the upstream would serve it under is refused,
// whatever the upstream's way of reading paths and hosts.
func TestPathAndHostConfusion(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startGW(t, `
issuers: [{name: main, issuer: {{ISS}}, audiences: [gateway]}]
routes:
  - name: admin-host
    host: admin.example
    path: /h
    upstreams: ["{{U}}"]
    auth: jwt
  - name: admin
    path: /api/admin
    upstreams: ["{{U}}"]
    auth: jwt
  - name: public-svc
    path: /svc/public
    strip_prefix: /svc
    upstreams: ["{{U}}"]
    auth: none
  - name: public
    path: /
    upstreams: ["{{U}}"]
    auth: none
`, map[string]string{"ISS": iss.URL, "U": u.URL})

	for _, p := range []string{
		"/api/admin%2Fusers", "/api/admin%2fusers", "/svc/public/..%2Fadmin/x", "/svc/public/..;/admin/x",
		"/svc/public/%2e%2e/admin/x", "/svc/public/..%5Cadmin/x", "/api/admin./users", "/api//admin/users",
		"/svc/public/../admin/x", "/api/x%00",
	} {
		problemOf(t, gw.do(t, "GET", p, nil, nil), 400, TypeAmbiguousPath)
	}
	// The case of a protected route: refused; a path that matches the same
	// route whatever its case passes.
	problemOf(t, gw.do(t, "GET", "/api/ADMIN/users", nil, nil), 400, TypeAmbiguousPath)
	readEcho(t, gw.do(t, "GET", "/Public/Things", nil, nil))
	problemOf(t, gw.do(t, "GET", "/api/admin/users", nil, nil), 401, "https://gatehouse.dev/problems/authentication-required")

	// Host names are compared without case and trailing dot.
	for _, host := range []string{"admin.example", "ADMIN.example", "admin.example.", "Admin.Example.:80"} {
		resp := gw.do(t, "GET", "/h", map[string]string{"Host": host}, nil)
		problemOf(t, resp, 401, "https://gatehouse.dev/problems/authentication-required")
	}
	tok := iss.Token(token.Claims{Subject: "alice"})
	e := readEcho(t, gw.do(t, "GET", "/h", map[string]string{"Host": "ADMIN.example.", "Authorization": "bearer " + tok}, nil))
	if got := e.Header.Get("X-Forwarded-Host"); got != "admin.example" {
		t.Fatalf("X-Forwarded-Host %q, want the normalized host", got)
	}
}

// TestClaimHeadersCannotBeSpoofed: the header names of forward_claims are
// removed from every request on every route, also when sent with "_".
// Headers that make some servers believe in another client address, URL or
// method never reach the upstream.
func TestClaimHeadersCannotBeSpoofed(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startGW(t, `
issuers: [{name: main, issuer: {{ISS}}, audiences: [gateway]}]
routes:
  - name: admin
    path: /admin
    upstreams: ["{{U}}"]
    auth: jwt
    forward_claims: {X-User: sub}
  - name: public
    path: /
    upstreams: ["{{U}}"]
    auth: none
`, map[string]string{"ISS": iss.URL, "U": u.URL})

	spoof := map[string]string{"X-User": "root", "X_User": "root", "X-Original-URL": "/admin", "X-HTTP-Method-Override": "DELETE",
		"X-Real-IP": "10.0.0.1", "True-Client-IP": "10.0.0.1",
		"X_Real_IP": "10.0.0.1", "X_Forwarded_Proto": "https", "X_Forwarded_For": "10.0.0.1", "X_HTTP_Method_Override": "DELETE"}
	e := readEcho(t, gw.do(t, "GET", "/public", spoof, nil))
	for k := range spoof {
		if v := e.Header.Get(k); v != "" {
			t.Errorf("the upstream of a route without forward_claims got %s: %q", k, v)
		}
	}
	for k, vs := range e.Header {
		if strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "X-User") {
			t.Errorf("the upstream got %s: %q", k, vs)
		}
	}
	if e.Header.Get("X-Forwarded-For") == "" || e.Header.Get("X-Forwarded-Proto") != "http" {
		t.Errorf("the gateway's own X-Forwarded-* are missing: %v", e.Header)
	}
	hdr := map[string]string{"X-User": "root", "X_User": "root", "Authorization": "Bearer " + iss.Token(token.Claims{Subject: "alice"})}
	e = readEcho(t, gw.do(t, "GET", "/admin", hdr, nil))
	if got := e.Header.Values("X-User"); len(got) != 1 || got[0] != "alice" {
		t.Fatalf("X-User %q, want only the gateway's alice", got)
	}
	if v := e.Header.Get("X_user"); v != "" {
		t.Fatalf("X_User reached the upstream: %q", v)
	}
}

// Route paths and pattern hosts with capitals are refused at load: the
// gateway could not tell a request in other case from another route's.
func TestRoutesWithCapitalsAreRefused(t *testing.T) {
	for _, route := range []string{
		"path: /Admin", "pattern: \"GET /api/Orders/{id}\"", "pattern: \"Admin.example/x\"",
	} {
		yml := "routes:\n  - name: r\n    " + route + "\n    upstreams: [\"http://127.0.0.1:1\"]\n    auth: none\n"
		if _, err := ParseConfig("gateway.yaml", []byte(yml)); err == nil || !strings.Contains(err.Error(), "capital letters") {
			t.Errorf("%s: %v, want a refusal for capital letters", route, err)
		}
	}
	// Wildcard names may have capitals.
	yml := "routes:\n  - name: r\n    pattern: \"GET /api/orders/{orderID}\"\n    upstreams: [\"http://127.0.0.1:1\"]\n    auth: none\n"
	if _, err := ParseConfig("gateway.yaml", []byte(yml)); err != nil {
		t.Errorf("a wildcard name with capitals: %v", err)
	}
}

// A zoned IPv6 peer is matched by the prefixes of the IP lists.
func TestZonedAddressesMatchPrefixes(t *testing.T) {
	if a := peerAddr("[fe80::1%eth0]:1234"); a.Zone() != "" || !netip.MustParsePrefix("fe80::/10").Contains(a) {
		t.Fatalf("peerAddr kept the zone: %v", a)
	}
	if a, ok := parseHop("[fe80::1%eth0]:80"); !ok || a.Zone() != "" {
		t.Fatalf("parseHop: %v %v", a, ok)
	}
}
