package gateway

import (
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestParseConfigErrors(t *testing.T) {
	route := "  - {name: r, path: /, upstreams: [\"http://127.0.0.1:1\"], auth: none}\n"
	tests := []struct {
		name, yml, want string
	}{
		{"unknown key", "listen: x\nroutez: []\n", `gateway.yaml:2: routez: unknown key (did you mean "routes"?); valid keys: access_log, admin_listen,`},
		{"unknown nested key", "routes:\n  - name: r\n    path: /\n    upstreams: [\"http://x\"]\n    auth: none\n    cors: {origins: [x]}\n", "gateway.yaml:6: routes[0].cors.origins: unknown key"},
		{"no routes", "listen: x\n", "routes: at least one route is required"},
		{"bad type", "limits: {max_body_bytes: lots}\n" + "routes:\n" + route, `gateway.yaml:1: limits.max_body_bytes: "lots" is not a whole number: write digits only, such as max_body_bytes: 1048576`},
		{"bad duration", "limits: {upstream_timeout: 30}\n" + "routes:\n" + route, "gateway.yaml:1: limits.upstream_timeout: 30 is not a duration: write 30s"},
		{"key twice", "listen: a\nlisten: b\nroutes:\n" + route, "gateway.yaml:2: listen: given twice (first at line 1)"},
		{"list expected", "trusted_proxies: 10.0.0.0/8\nroutes:\n" + route, "gateway.yaml:1: trusted_proxies: is the value \"10.0.0.0/8\" but must be a list"},
		{"wildcard with credentials", "routes:\n  - name: r\n    path: /\n    upstreams: [\"http://x\"]\n    auth: none\n    cors: {allowed_origins: [\"*\"], allow_credentials: true}\n",
			`gateway.yaml:6: routes[0].cors: allowed_origins: "*" with allow_credentials`},
		{"bad origin pattern", "routes:\n  - name: r\n    path: /\n    upstreams: [\"http://x\"]\n    auth: none\n    cors: {allowed_origins: [\"https://a.*.com\"]}\n", "routes[0].cors: allowed_origins"},
		{"auth missing", "routes:\n  - {name: r, path: /, upstreams: [\"http://x\"]}\n", `routes[0].auth: "": use none or jwt`},
		{"jwt without issuers", "routes:\n  - {name: r, path: /, upstreams: [\"http://x\"], auth: jwt}\n", "needs at least one entry in gateway.issuers"},
		{"unknown issuer", "issuers: [{name: a, issuer: \"http://i\", audiences: [x]}]\nroutes:\n  - {name: r, path: /, upstreams: [\"http://x\"], auth: jwt, issuers: [b]}\n", `routes[0].issuers: "b" is not the name`},
		{"no audience", "issuers: [{name: a, issuer: \"http://i\"}]\nroutes:\n" + route, "issuers[0].audiences: at least one"},
		{"bad cidr", "trusted_proxies: [10.0.0.0/33]\nroutes:\n" + route, `trusted_proxies[0]: "10.0.0.0/33" is not a CIDR`},
		{"bad ip list", "routes:\n  - {name: r, path: /, upstreams: [\"http://x\"], auth: none, ip: {allow: [nope]}}\n", "routes[0].ip: allow[0]"},
		{"bad rate key", "rate_limit: {key: cookie, replenish_rate: 1, burst_capacity: 1}\nroutes:\n" + route, `rate_limit: key "cookie"`},
		{"bad rate", "routes:\n  - {name: r, path: /, upstreams: [\"http://x\"], auth: none, rate_limit: {key: ip, replenish_rate: -1, burst_capacity: 1}}\n", "routes[0].rate_limit: replenish_rate"},
		{"sub key without jwt", "routes:\n  - {name: r, path: /, upstreams: [\"http://x\"], auth: none, rate_limit: {key: sub, replenish_rate: 1, burst_capacity: 1}}\n", `key "sub" needs auth: jwt`},
		{"bad upstream", "routes:\n  - {name: r, path: /, upstreams: [\"ftp://x\"], auth: none}\n", "routes[0].upstreams"},
		{"path and pattern", "routes:\n  - {name: r, path: /, pattern: \"GET /x\", upstreams: [\"http://x\"], auth: none}\n", "exactly one of path"},
		{"duplicate route", "routes:\n" + route + route, `routes[1].name: "r" is used twice`},
		{"conflicting patterns", "routes:\n  - {name: a, pattern: \"GET /x/{id}\", upstreams: [\"http://x\"], auth: none}\n  - {name: b, pattern: \"GET /x/{name}\", upstreams: [\"http://x\"], auth: none}\n", "conflicts"},
		{"bad expr", "issuers: [{name: a, issuer: \"http://i\", audiences: [x]}]\nroutes:\n  - {name: r, path: /, upstreams: [\"http://x\"], auth: jwt, rules: {expr: \"token.sub ==\"}}\n", "routes[0].rules: expr"},
		{"exchange incomplete", "issuers: [{name: a, issuer: \"http://i\", audiences: [x]}]\nroutes:\n  - {name: r, path: /, upstreams: [\"http://x\"], auth: jwt, downstream: exchange}\n", "routes[0].exchange: downstream: exchange needs"},
		{"forward authorization", "issuers: [{name: a, issuer: \"http://i\", audiences: [x]}]\nroutes:\n  - {name: r, path: /, upstreams: [\"http://x\"], auth: jwt, forward_claims: {Authorization: sub}}\n", "routes[0].forward_claims"},
		{"bad backend", "ratelimit: {backend: etcd}\nroutes:\n" + route, `ratelimit.backend: "etcd"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("gateway.yaml", []byte(tc.yml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yml)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%T is not a *ConfigError: %v", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestExampleConfigParses(t *testing.T) {
	data, err := os.ReadFile("../examples/gateway.yaml")
	if err != nil {
		t.Skipf("examples/gateway.yaml: %v", err)
	}
	cfg, err := ParseConfig("examples/gateway.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Routes) == 0 {
		t.Fatal("no routes")
	}
}

func TestResolveEnv(t *testing.T) {
	cfg, err := ParseConfig("g.yaml", []byte(`
ratelimit: {backend: redis, redis_url_env: GW_REDIS}
issuers: [{name: a, issuer: "http://i", audiences: [x]}]
routes:
  - {name: r, path: /, upstreams: ["http://x"], auth: jwt, downstream: exchange,
     exchange: {token_url: "http://t", client_id: c, secret_env: GW_SECRET, audience: o}}
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GW_REDIS": "redis://127.0.0.1:6379/0"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := cfg.ResolveEnv(lookup); err == nil || !strings.Contains(err.Error(), "GW_SECRET is not set") {
		t.Fatalf("missing variable: %v", err)
	}
	env["GW_SECRET"] = "s"
	if err := cfg.ResolveEnv(lookup); err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimit.RedisURL != env["GW_REDIS"] || cfg.Routes[0].Exchange.Secret != "s" {
		t.Fatalf("not resolved: %+v", cfg.RateLimit)
	}
}

// FuzzParseConfig: a configuration file is operator input, but it must
// never crash the process that reads it.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("routes:\n  - {name: r, path: /, upstreams: [\"http://x\"], auth: none}\n"))
	f.Add([]byte("gateway:\n  routes: [{name: r, pattern: \"GET /a/{id}\", upstreams: [\"http://x\"], auth: none, cors: {allowed_origins: [\"https://*.a.b\"]}}]\n"))
	f.Add([]byte("trusted_proxies: [\"::1/128\"]\nip: {deny: [1.2.3.4]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("f.yaml", data)
		if err == nil && len(cfg.Routes) == 0 {
			t.Fatal("accepted a configuration without routes")
		}
	})
}

// FuzzClientAddr: X-Forwarded-For and Forwarded come from the network.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:1", "1.2.3.4, 10.0.0.2", "")
	f.Add("10.0.0.1:1", "", `for="[2001:db8::1]:80";proto=https, for=unknown`)
	f.Add("[::1]:1", "garbage,,,", "for=")
	st := &state{}
	for _, p := range []string{"10.0.0.0/8", "::1/128"} {
		pf, _ := parsePrefix(p)
		st.trusted = append(st.trusted, pf)
	}
	f.Fuzz(func(t *testing.T, remote, xff, fwd string) {
		r, _ := http.NewRequest("GET", "http://x/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("Forwarded", fwd)
		a, trusted := st.clientAddr(r)
		if !trusted && a != peerAddr(remote) {
			t.Fatalf("an untrusted peer %q became %s", remote, a)
		}
	})
}
