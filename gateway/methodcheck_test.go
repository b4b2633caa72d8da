package gateway

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// TestMethodsAreCaseSensitive: bob sends the DELETE of an admin route in
// other case ("delete", which the mux does not match to DELETE routes, so
// it fell to the prefix route, and which servers that read methods without
// case serve as a DELETE). Every method outside allowed_methods is 501
// before routing, and the upstream gets nothing. Raw connections: the
// request line as written.
func TestMethodsAreCaseSensitive(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	up := newRecording(t)
	gw := startGW(t, ordersLayout, map[string]string{"ISS": iss.URL, "U": up.URL})
	bob := iss.Token(token.Claims{Subject: "bob", Scope: "orders:read"})
	for _, line := range []string{
		"delete /api/orders/A1", "Delete /api/orders/A1", "DELETe /api/orders/A1",
		"TRACE /api/orders/A1", "CONNECT gw:443", "PROPFIND /api/orders/A1", "get /api/orders/A1",
	} {
		t.Run(line, func(t *testing.T) {
			resp, _ := gw.raw(t, fmt.Sprintf("%s HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", line, bob))
			problemOf(t, resp, 501, TypeMethodNotImplemented)
		})
	}
	if seen, _ := up.got(); len(seen) != 0 {
		t.Fatalf("the upstream got %q", seen)
	}
	// The methods of the default list pass.
	resp, _ := gw.raw(t, "PATCH /api/orders/A1 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer "+bob+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH: %d", resp.StatusCode)
	}
}

// allowed_methods replaces the list: WebDAV's PROPFIND passes when listed,
// and TRACE stays out unless listed.
func TestAllowedMethods(t *testing.T) {
	up := newRecording(t)
	gw := startGW(t, `
allowed_methods: [GET, PROPFIND]
routes:
  - name: dav
    path: /dav
    methods: [PROPFIND]
    upstreams: ["{{U}}"]
    auth: none
`, map[string]string{"U": up.URL})
	if resp := gw.do(t, "PROPFIND", "/dav/x", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("PROPFIND: %d", resp.StatusCode)
	}
	problemOf(t, gw.do(t, "POST", "/dav/x", nil, nil), 501, TypeMethodNotImplemented)
	problemOf(t, gw.do(t, "TRACE", "/dav/x", nil, nil), 501, TypeMethodNotImplemented)
	if seen, _ := up.got(); len(seen) != 1 || seen[0] != "PROPFIND /dav/x" {
		t.Fatalf("the upstream got %q", seen)
	}
}

func TestAllowedMethodsRefusedAtLoad(t *testing.T) {
	route := "routes:\n  - name: r\n    %s\n    upstreams: [\"http://127.0.0.1:1\"]\n    auth: none\n"
	for _, tc := range []struct{ yml, want string }{
		{"allowed_methods: [GET, delete]\n" + fmt.Sprintf(route, "path: /x"), `allowed_methods: "delete" is not an HTTP method in capitals`},
		{"allowed_methods: [\"GET /\"]\n" + fmt.Sprintf(route, "path: /x"), `allowed_methods: "GET /" is not an HTTP method`},
		{fmt.Sprintf(route, "pattern: \"TRACE /x\""), "routes[0].pattern: TRACE is not among the methods the gateway serves"},
		{fmt.Sprintf(route, "pattern: \"delete /x\""), "routes[0].pattern: delete is not among the methods the gateway serves"},
		{"allowed_methods: [GET]\n" + fmt.Sprintf(route, "path: /x\n    methods: [POST]"), "routes[0].methods: POST is not among the methods the gateway serves"},
	} {
		_, err := ParseConfig("gateway.yaml", []byte(tc.yml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\ngot %v, want %q", tc.yml, err, tc.want)
		}
	}
}
