package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const good = `authserver:
  issuer: http://127.0.0.1:9000
  listen: 127.0.0.1:9000
  data: ./gatehouse-data
  organizations:
    - id: acme
  clients:
    - id: svc-accounts
      secret: a-secret-of-16-or-more
      grants: [client_credentials, urn:ietf:params:oauth:grant-type:token-exchange]
      scopes: [accounts:read]
      audiences: [accounts]
    - id: spa
      public: true
      grants: [authorization_code, refresh_token]
      redirect_uris: [http://127.0.0.1:5173/callback]
      scopes: [openid, profile, email, offline_access]
  users:
    - username: alice
      email: alice@acme.test
      password: a-password
      org: acme
      groups: [admin]
      roles: [user, admin]
`

func TestParseGood(t *testing.T) {
	f, err := Parse("gatehouse.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	a := f.AuthServer
	if a.Issuer != "http://127.0.0.1:9000" || len(a.Clients) != 2 || a.Clients[1].Line != 13 || a.Users[0].Roles[1] != "admin" {
		t.Fatalf("parsed %+v", a)
	}
	if s, err := a.Clients[0].Secret.Resolve(); err != nil || s != "a-secret-of-16-or-more" {
		t.Fatalf("secret %q %v", s, err)
	}
}

func TestParseRefusesWithLine(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"empty", "", "empty"},
		{"syntax", "authserver:\n  issuer: http://a\n listen: x\n", "gatehouse.yaml:2: not valid YAML: did not find expected key (check the indentation"},
		{"misspelt section", "gatway:\n  listen: x\n", `gatehouse.yaml:1: gatway: unknown key (did you mean "gateway"?); valid keys: authserver, gateway, services`},
		{"section not a mapping", "authserver: yes\n", `gatehouse.yaml:1: authserver: is the value "yes" but must be a section with the keys issuer, listen,`},
		{"duration as a number", "authserver:\n  issuer: http://a\n  access_token_ttl: 30\n", "gatehouse.yaml:3: authserver.access_token_ttl: 30 is not a duration: write 30s for 30 seconds"},
		{"client duration", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      refresh_token_ttl: 30d\n", `gatehouse.yaml:5: authserver.clients[0].refresh_token_ttl: "30d" is not a duration: write 720h for 30 days`},
		{"bool", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: yes\n", `gatehouse.yaml:5: authserver.clients[0].public: "yes" is not true or false: write public: true or public: false`},
		{"list as text", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      grants: client_credentials\n", `gatehouse.yaml:5: authserver.clients[0].grants: is the value "client_credentials" but must be a list: write [a, b]`},
		{"unknown client key", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      scope: [a]\n", `gatehouse.yaml:5: authserver.clients[0].scope: unknown key (did you mean "scopes"?)`},
		{"key twice", "authserver:\n  issuer: http://a\n  issuer: http://b\n", "gatehouse.yaml:3: authserver.issuer: given twice (first at line 2); keep one"},
		{"gateway unknown key", "gateway:\n  routes: []\n  lisen: x\n", `gatehouse.yaml:3: gateway.lisen: unknown key (did you mean "listen"?)`},
		{"gateway bad value", "gateway:\n  routes:\n    - {name: r, path: /, upstreams: [\"http://x\"], auth: maybe}\n", `gatehouse.yaml:3: gateway.routes[0].auth: "maybe": use none or jwt`},
		{"gateway duration", "gateway:\n  limits: {upstream_timeout: 30}\n", "gatehouse.yaml:2: gateway.limits.upstream_timeout: 30 is not a duration: write 30s"},
		{"unknown key", "authserver:\n  issuer: http://a\n  issuerr: x\n", `gatehouse.yaml:3: authserver.issuerr: unknown key (did you mean "issuer"?); valid keys: access_token_ttl, admin_listen, argon2, client_auth_throttle, clients,`},
		{"negative login throttle", "authserver:\n  issuer: http://a\n  login_throttle:\n    free: -1\n", "gatehouse.yaml:4: authserver.login_throttle.free: must not be negative"},
		{"throttle max under base", "authserver:\n  issuer: http://a\n  client_auth_throttle:\n    base: 1m\n    max: 1s\n", "gatehouse.yaml:5: authserver.client_auth_throttle.max: 1s is shorter than base (1m0s)"},
		{"argon2 queue", "authserver:\n  issuer: http://a\n  argon2:\n    queue: -2\n", "gatehouse.yaml:4: authserver.argon2.queue: must be -1"},
		{"public client introspects", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      introspection: true\n      grants: [authorization_code]\n      redirect_uris: [http://x/cb]\n", "gatehouse.yaml:6: authserver.clients[0].introspection: client \"c\" is public and cannot introspect"},
		{"public client with mTLS auth", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      grants: [client_credentials]\n      public: true\n      tls_client_auth_san_uri: spiffe://x/c\n", "gatehouse.yaml:6: authserver.clients[0].public: client \"c\" is public and cannot authenticate with a TLS certificate"},
		{"SAN not a URI", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      grants: [client_credentials]\n      tls_client_auth_san_uri: orders\n", `gatehouse.yaml:6: authserver.clients[0].tls_client_auth_san_uri: client "c": "orders" is not an absolute URI`},
		{"SAN and subject", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      grants: [client_credentials]\n      tls_client_auth_san_uri: spiffe://x/c\n      tls_client_auth_subject_dn: CN=c\n", "gatehouse.yaml:7: authserver.clients[0].tls_client_auth_subject_dn: client \"c\": set tls_client_auth_san_uri or tls_client_auth_subject_dn, not both"},
		{"self-signed without keys", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      grants: [client_credentials]\n      self_signed_tls_client_auth: true\n", "gatehouse.yaml:6: authserver.clients[0].self_signed_tls_client_auth: client \"c\": self_signed_tls_client_auth needs jwks_file"},
		{"public certificate-bound", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      grants: [authorization_code]\n      redirect_uris: [http://x/cb]\n      tls_client_certificate_bound_access_tokens: true\n", "gatehouse.yaml:8: authserver.clients[0].tls_client_certificate_bound_access_tokens: client \"c\" is public"},
		{"SAN client without mtls", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      grants: [client_credentials]\n      tls_client_auth_san_uri: spiffe://x/c\n", "gatehouse.yaml:6: authserver.clients[0].tls_client_auth_san_uri: client \"c\" authenticates with a CA-issued TLS certificate: set authserver.mtls with client_ca_file"},
		{"bound tokens without mtls", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      secret: s\n      grants: [client_credentials]\n      tls_client_certificate_bound_access_tokens: true\n", "gatehouse.yaml:7: authserver.clients[0].tls_client_certificate_bound_access_tokens: client \"c\" gets certificate-bound tokens: set authserver.mtls"},
		{"mtls without listen", "authserver:\n  issuer: http://a\n  mtls:\n    url: https://a:9443\n", "gatehouse.yaml:3: authserver.mtls.listen: is required"},
		{"mtls url over http", "authserver:\n  issuer: http://a\n  mtls:\n    listen: 127.0.0.1:9443\n    url: http://a:9443\n", `gatehouse.yaml:5: authserver.mtls.url: "http://a:9443" must be an absolute https URL`},
		{"mtls without key", "authserver:\n  issuer: http://a\n  mtls:\n    listen: 127.0.0.1:9443\n    url: https://a:9443\n    cert_file: c.pem\n", "gatehouse.yaml:3: authserver.mtls.key_file: is required"},
		{"confidential without any credential", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      grants: [client_credentials]\n", "gatehouse.yaml:4: authserver.clients[0]: client \"c\":"},
		{"wrong type", "authserver:\n  issuer: [1]\n", "gatehouse.yaml:2:"},
		{"bad duration", "authserver:\n  issuer: http://a\n  access_token_ttl: soon\n", "gatehouse.yaml:3:"},
		{"symmetric signing", "authserver:\n  issuer: http://a\n  signing_alg: HS256\n", `gatehouse.yaml:3: authserver.signing_alg: "HS256": use ES256 (the default), EdDSA, RS256 or PS256`},
		{"no issuer", "authserver:\n  listen: :9000\n", "gatehouse.yaml:1: authserver.issuer: is required"},
		{"issuer with slash", "authserver:\n  issuer: http://a/\n", "trailing slash"},
		{"negative body timeout", "authserver:\n  issuer: http://a\n  limits:\n    body_timeout: -1s\n", "gatehouse.yaml:4: authserver.limits.body_timeout: must not be negative"},
		{"gateway lowercase method", "gateway:\n  allowed_methods: [GET, delete]\n  routes:\n    - {name: r, path: /, upstreams: [\"http://x\"], auth: none}\n", `gatehouse.yaml:2: gateway.allowed_methods: "delete" is not an HTTP method in capitals`},
		{"refresh grace too long", "authserver:\n  issuer: http://a\n  refresh_token_grace: 5m\n", "authserver.refresh_token_grace: must be at most 1m"},
		{"data and store", "authserver:\n  issuer: http://a\n  data: d\n  store: postgres://x\n", "not both"},
		{"client without secret", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      grants: [client_credentials]\n", "gatehouse.yaml:4: authserver.clients[0]: client \"c\": needs exactly one of secret"},
		{"public with secret", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      secret: abcdefabcdefabcdef\n      grants: [authorization_code]\n", "must not have a secret"},
		{"unknown grant", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      secret: abcdefabcdefabcdef\n      grants: [implicit]\n", "unknown grant \"implicit\""},
		{"javascript redirect", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      grants: [authorization_code]\n      redirect_uris: [\"javascript://x/%0aalert(1)\"]\n", `gatehouse.yaml:7: authserver.clients[0].redirect_uris[0]: client "c": redirect_uris: "javascript://x/%0aalert(1)": the scheme javascript is not a place`},
		{"redirect with fragment", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      grants: [authorization_code]\n      redirect_uris: [\"https://app.example/cb#x\"]\n", "must have no fragment"},
		{"relative post-logout URI", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      grants: [authorization_code]\n      redirect_uris: [https://app.example/cb]\n      post_logout_redirect_uris: [/bye]\n", `client "c": post_logout_redirect_uris: "/bye" must be absolute`},
		{"origin with a path", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      grants: [authorization_code]\n      redirect_uris: [https://app.example/cb]\n      allowed_origins: [https://app.example/]\n", `client "c": allowed_origins: origin "https://app.example/": an origin has no path`},
		{"wildcard origin", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      grants: [authorization_code]\n      redirect_uris: [https://app.example/cb]\n      allowed_origins: [\"https://*.example\"]\n", "wildcards are not allowed"},
		{"origin of another scheme", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      grants: [authorization_code]\n      redirect_uris: [https://app.example/cb]\n      allowed_origins: [\"chrome-extension://abc\"]\n", "the scheme must be http or https"},
		{"code without redirect", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      public: true\n      grants: [authorization_code]\n", "needs redirect_uris"},
		{"duplicate client", "authserver:\n  issuer: http://a\n  clients:\n    - id: c\n      secret: abcdefabcdefabcdef\n      grants: [client_credentials]\n    - id: c\n      secret: abcdefabcdefabcdef\n      grants: [client_credentials]\n", "gatehouse.yaml:7: authserver.clients[1].id: client \"c\" listed twice"},
		{"user two passwords", "authserver:\n  issuer: http://a\n  users:\n    - username: u\n      password: p\n      password_env: P\n", "exactly one of password"},
		{"user bad hash", "authserver:\n  issuer: http://a\n  users:\n    - username: u\n      password_hash: md5$x\n", "argon2id"},
		{"unknown org", "authserver:\n  issuer: http://a\n  organizations: [{id: acme}]\n  users:\n    - username: u\n      password: p\n      org: globex\n", "not listed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("gatehouse.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestRelativePaths: paths in the file start at the file's folder, not at
// the working folder.
func TestRelativePaths(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.yaml")
	os.WriteFile(filepath.Join(dir, "s"), []byte("a-secret-of-16-or-more\n"), 0o600)
	os.WriteFile(file, []byte(`authserver:
  issuer: http://a
  data: ./data
  clients:
    - {id: c, secret_file: s, grants: [client_credentials]}
    - {id: k, jwks_file: /abs/keys.json, grants: [client_credentials]}
gateway:
  tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
  routes: [{name: r, path: /, upstreams: ["http://x"], auth: none}]
`), 0o600)
	f, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	a := f.AuthServer
	if a.Data != filepath.Join(dir, "data") || a.Clients[1].JWKSFile != "/abs/keys.json" || f.Gateway.TLS.CertFile != filepath.Join(dir, "tls/cert.pem") {
		t.Fatalf("paths %q %q %q", a.Data, a.Clients[1].JWKSFile, f.Gateway.TLS.CertFile)
	}
	if s, err := a.Clients[0].Secret.Resolve(); err != nil || s != "a-secret-of-16-or-more" {
		t.Fatalf("secret_file from the file's folder: %q %v", s, err)
	}
	if f.Line("gateway.routes[0]") != 9 || f.Line("authserver.clients[1].jwks_file") != 6 {
		t.Fatalf("lines %d %d", f.Line("gateway.routes[0]"), f.Line("authserver.clients[1].jwks_file"))
	}
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s")
	os.WriteFile(file, []byte("from-file-secret\n"), 0o600)
	t.Setenv("GH_TEST_SECRET", "from-env-secret")
	for _, tt := range []struct {
		s    Secret
		want string
		err  string
	}{
		{Secret{Env: "GH_TEST_SECRET"}, "from-env-secret", ""},
		{Secret{File: file}, "from-file-secret", ""},
		{Secret{Env: "GH_TEST_UNSET_VARIABLE"}, "", "GH_TEST_UNSET_VARIABLE is not set"},
		{Secret{File: filepath.Join(dir, "missing")}, "", "secret_file"},
	} {
		got, err := tt.s.Resolve()
		if got != tt.want || (tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err))) {
			t.Fatalf("%+v: %q %v", tt.s, got, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("authserver:\n  issuer: http://a\n"))
	f.Add([]byte("gateway: {}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err == nil && cfg.AuthServer != nil && cfg.AuthServer.Issuer == "" {
			t.Fatal("accepted an authserver without issuer")
		}
	})
}
