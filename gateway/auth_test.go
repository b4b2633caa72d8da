package gateway

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

func TestAuthAndRules(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startGW(t, `
issuers:
  - name: main
    issuer: {{ISS}}
    audiences: [gateway]
routes:
  - name: open
    path: /public
    upstreams: ["{{U}}"]
    auth: none
  - name: any
    path: /any
    upstreams: ["{{U}}"]
    auth: jwt
  - name: admin
    path: /admin
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {roles: [admin]}
  - name: read
    path: /read
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {scopes: ["orders:read"]}
  - name: expr
    pattern: "GET /orgs/{org}/data"
    upstreams: ["{{U}}"]
    auth: jwt
    rules: {expr: "token.org == request.params.org"}
`, map[string]string{"ISS": iss.URL, "U": u.URL})

	alice := token.Claims{Subject: "alice", Roles: []string{"user"}, Scope: "orders:read", Org: "acme", ClientID: "web"}
	root := token.Claims{Subject: "root", Roles: []string{"admin"}, Org: "other"}
	tests := []struct {
		name      string
		path, tok string
		status    int
		typ       string
		challenge string // substring of WWW-Authenticate
	}{
		{"public needs nothing", "/public", "", 200, "", ""},
		{"no token", "/any", "", 401, "https://gatehouse.dev/problems/authentication-required", `Bearer realm="gateway"`},
		{"valid", "/any", iss.Token(alice), 200, "", ""},
		{"bad signature", "/any", iss.BadSignature(alice), 401, "https://gatehouse.dev/problems/invalid-token", `error="invalid_token"`},
		{"expired", "/any", iss.Expired(alice), 401, "https://gatehouse.dev/problems/invalid-token", `error="invalid_token"`},
		{"wrong audience", "/any", iss.WrongAudience(alice), 401, "https://gatehouse.dev/problems/invalid-token", `error="invalid_token"`},
		{"wrong issuer", "/any", iss.WrongIssuer(alice), 401, "https://gatehouse.dev/problems/invalid-token", `error="invalid_token"`},
		{"alg none", "/any", iss.AlgNone(alice), 401, "https://gatehouse.dev/problems/invalid-token", `error="invalid_token"`},
		{"unknown key", "/any", iss.UnknownKey(alice), 401, "https://gatehouse.dev/problems/invalid-token", `error="invalid_token"`},
		{"role missing", "/admin", iss.Token(alice), 403, "https://gatehouse.dev/problems/forbidden", ""},
		{"role present", "/admin", iss.Token(root), 200, "", ""},
		{"scope present", "/read", iss.Token(alice), 200, "", ""},
		{"scope missing", "/read", iss.Token(root), 403, "https://gatehouse.dev/problems/insufficient-scope", `error="insufficient_scope"`},
		{"expr own org", "/orgs/acme/data", iss.Token(alice), 200, "", ""},
		{"expr other org", "/orgs/acme/data", iss.Token(root), 403, "https://gatehouse.dev/problems/forbidden", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr map[string]string
			if tc.tok != "" {
				hdr = bearer(tc.tok)
			}
			resp := gw.do(t, "GET", tc.path, hdr, nil)
			if tc.status == 200 {
				readEcho(t, resp)
				return
			}
			problemOf(t, resp, tc.status, tc.typ)
			if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, tc.challenge) {
				t.Fatalf("WWW-Authenticate %q, want it to contain %q", ch, tc.challenge)
			}
		})
	}
	if logs := gw.logs.String(); strings.Contains(logs, iss.Token(alice)[:40]) {
		t.Fatal("a token reached the log")
	}
	m := scrape(t, gw)
	for _, want := range []string{
		`gatehouse_gateway_refused_total{reason="unauthorized",route="any"} 7`,
		`gatehouse_gateway_refused_total{reason="forbidden",route="admin"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grep(m, "refused"))
		}
	}
}

func TestSeveralIssuers(t *testing.T) {
	one := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	two := tokentest.NewIssuer(t, tokentest.WithAudience("api"))
	u := newUpstream(t, "u", nil)
	// two's JWKS comes from a file and a jwks_url; one's from discovery.
	dir := t.TempDir()
	jwks, err := keys.MarshalJWKS(two.Key().PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "jwks.json")
	if err := os.WriteFile(file, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	gw := startGW(t, `
issuers:
  - name: one
    issuer: {{ONE}}
    audiences: [gateway, other]
  - name: two
    issuer: {{TWO}}
    jwks_file: {{FILE}}
    audiences: [api]
  - name: two-url
    issuer: {{TWO}}
    jwks_url: {{TWOJWKS}}
    audiences: [api2]
routes:
  - name: both
    path: /both
    upstreams: ["{{U}}"]
    auth: jwt
  - name: only-two
    path: /two
    upstreams: ["{{U}}"]
    auth: jwt
    issuers: [two]
`, map[string]string{"ONE": one.URL, "TWO": two.URL, "FILE": file, "TWOJWKS": two.JWKSURL(), "U": u.URL})

	readEcho(t, gw.do(t, "GET", "/both", bearer(one.Token(token.Claims{Subject: "a"})), nil))
	readEcho(t, gw.do(t, "GET", "/both", bearer(one.Token(token.Claims{Subject: "a", Audience: token.Audience{"other"}})), nil))
	readEcho(t, gw.do(t, "GET", "/both", bearer(two.Token(token.Claims{Subject: "b"})), nil))
	readEcho(t, gw.do(t, "GET", "/both", bearer(two.Token(token.Claims{Subject: "b", Audience: token.Audience{"api2"}})), nil))
	readEcho(t, gw.do(t, "GET", "/two", bearer(two.Token(token.Claims{Subject: "b"})), nil))
	resp := gw.do(t, "GET", "/two", bearer(one.Token(token.Claims{Subject: "a"})), nil)
	problemOf(t, resp, 401, "https://gatehouse.dev/problems/invalid-token")
	// A token of issuer one that claims to be from two is checked by two's
	// verifier, and refused.
	forged := one.Token(token.Claims{Subject: "a", Issuer: two.URL, Audience: token.Audience{"api"}})
	problemOf(t, gw.do(t, "GET", "/both", bearer(forged), nil), 401, "https://gatehouse.dev/problems/invalid-token")
}

func TestDownstreamModesAndForwardedClaims(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	var exchanged struct{ form url.Values }
	tokenEndpoint := httpTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		r.ParseForm()
		exchanged.form = r.PostForm
		if user != "gw" || pass != "s3cret-value" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": "exchanged-token", "token_type": "Bearer", "expires_in": 300,
			"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		})
	}))
	gw := startGW(t, `
issuers:
  - name: main
    issuer: {{ISS}}
    audiences: [gateway]
routes:
  - name: relay
    path: /relay
    upstreams: ["{{U}}"]
    auth: jwt
    downstream: relay
    forward_claims: {X-Gatehouse-Subject: sub, X-Gatehouse-Org: org, X-Gatehouse-Client: client_id, X-Gatehouse-Roles: roles, X-Gatehouse-Tier: tier}
  - name: strip
    path: /strip
    upstreams: ["{{U}}"]
    auth: jwt
    downstream: strip
  - name: exchange
    path: /exchange
    upstreams: ["{{U}}"]
    auth: jwt
    downstream: exchange
    exchange: {token_url: "{{TOK}}", client_id: gw, secret: s3cret-value, audience: orders, scopes: [orders:read]}
  - name: anon
    path: /anon
    upstreams: ["{{U}}"]
    auth: none
    downstream: strip
`, map[string]string{"ISS": iss.URL, "U": u.URL, "TOK": tokenEndpoint})

	tok := iss.Token(token.Claims{Subject: "alice", ClientID: "web", Roles: []string{"a", "b"},
		Extra: map[string]any{"tier": "gold\r\nX-Injected: 1"}})
	spoof := map[string]string{"Authorization": "Bearer " + tok, "X-Gatehouse-Subject": "root", "X-Gatehouse-Org": "evil"}

	e := readEcho(t, gw.do(t, "GET", "/relay", spoof, nil))
	if got := e.Header.Get("Authorization"); got != "Bearer "+tok {
		t.Errorf("relay: upstream got Authorization %q", got)
	}
	if got := e.Header.Values("X-Gatehouse-Subject"); len(got) != 1 || got[0] != "alice" {
		t.Errorf("X-Gatehouse-Subject %q, want [alice] (the spoofed value removed)", got)
	}
	if got := e.Header.Values("X-Gatehouse-Org"); len(got) != 0 {
		t.Errorf("X-Gatehouse-Org %q: the token has no org, the spoofed value must be gone", got)
	}
	if e.Header.Get("X-Gatehouse-Client") != "web" || e.Header.Get("X-Gatehouse-Roles") != "a,b" {
		t.Errorf("claims headers %v", e.Header)
	}
	if got := e.Header.Get("X-Gatehouse-Tier"); got != "goldX-Injected: 1" || e.Header.Get("X-Injected") != "" {
		t.Errorf("a claim injected a header: tier %q", got)
	}

	e = readEcho(t, gw.do(t, "GET", "/strip", bearer(tok), nil))
	if got := e.Header.Get("Authorization"); got != "" {
		t.Errorf("strip: upstream got Authorization %q", got)
	}

	e = readEcho(t, gw.do(t, "GET", "/exchange", bearer(tok), nil))
	if got := e.Header.Get("Authorization"); got != "Bearer exchanged-token" {
		t.Errorf("exchange: upstream got Authorization %q", got)
	}
	if exchanged.form.Get("audience") != "orders" || exchanged.form.Get("subject_token") != tok || exchanged.form.Get("scope") != "orders:read" {
		t.Errorf("exchange request %v", exchanged.form)
	}

	e = readEcho(t, gw.do(t, "GET", "/anon", map[string]string{"Authorization": "Bearer whatever"}, nil))
	if got := e.Header.Get("Authorization"); got != "" {
		t.Errorf("anon strip: upstream got Authorization %q", got)
	}
}

func TestExchangeFailureIsBadGateway(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	tokenEndpoint := httpTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		w.Write([]byte(`internal detail of the auth server`))
	}))
	gw := startGW(t, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
routes:
  - name: exchange
    path: /
    upstreams: ["{{U}}"]
    auth: jwt
    downstream: exchange
    exchange: {token_url: "{{TOK}}", client_id: gw, secret: x, audience: orders}
`, map[string]string{"ISS": iss.URL, "U": u.URL, "TOK": tokenEndpoint})
	resp := gw.do(t, "GET", "/", bearer(iss.Token(token.Claims{Subject: "a"})), nil)
	p := problemOf(t, resp, 502, TypeBadGateway)
	if strings.Contains(p["detail"].(string), "internal detail") {
		t.Fatalf("leaks: %v", p)
	}
	// A token about to expire is not exchanged: 401, the client renews.
	soon := iss.Token(token.Claims{Subject: "a", ExpiresAt: token.At(time.Now().Add(2 * time.Second))})
	resp = gw.do(t, "GET", "/", bearer(soon), nil)
	problemOf(t, resp, 401, "")
}
