package gateway

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// DPoP server nonces at the gateway (dpop.nonce, RFC 9449 §9): a proof
// without the current nonce is refused with one to use, a proof with it
// passes, and instances that share nonce_secret_env accept each other's.

const nonceGatewayYAML = `
dpop: {external_url: "https://api.example", nonce: true{{SECRET}}}
issuers:
  - name: main
    issuer: {{ISS}}
    audiences: [gateway]
routes:
  - name: relay
    path: /relay
    upstreams: ["{{U}}"]
    auth: jwt
`

// startNonceGW starts a gateway with dpop.nonce; secretEnv, when set, is
// the name of the variable holding secret.
func startNonceGW(t *testing.T, iss *tokentest.Issuer, upstream, secretEnv, secret string) *testGW {
	t.Helper()
	vars := map[string]string{"ISS": iss.URL, "U": upstream, "SECRET": ""}
	if secretEnv != "" {
		vars["SECRET"] = ", nonce_secret_env: " + secretEnv
	}
	cfg := mustParse(t, nonceGatewayYAML, vars)
	if err := cfg.ResolveEnv(func(name string) (string, bool) { return secret, name == secretEnv }); err != nil {
		t.Fatalf("ResolveEnv: %v", err)
	}
	return startGWConfig(t, cfg)
}

// nonceOf sends a proof without a nonce and returns the nonce of the
// use_dpop_nonce refusal.
func nonceOf(t *testing.T, gw *testGW, s *dpop.Signer, raw string) string {
	t.Helper()
	resp := gw.do(t, "GET", "/relay", dpopHeaders(raw, mustProof(t, s, "https://api.example/relay", raw)), nil)
	problemOf(t, resp, 401, guard.TypeUseDPoPNonce)
	if ch := resp.Header.Get("WWW-Authenticate"); !strings.Contains(ch, `error="use_dpop_nonce"`) {
		t.Fatalf("challenge %q, want error=\"use_dpop_nonce\"", ch)
	}
	n := resp.Header.Get("DPoP-Nonce")
	if n == "" {
		t.Fatal("a use_dpop_nonce refusal without a DPoP-Nonce header")
	}
	return n
}

func proofWithNonce(t *testing.T, s *dpop.Signer, raw, nonce string) string {
	t.Helper()
	p, err := s.Proof("GET", "https://api.example/relay", raw, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGatewayDPoPNonce(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startNonceGW(t, iss, u.URL, "", "")
	s, _ := dpop.GenerateSigner()
	raw := iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})

	nonce := nonceOf(t, gw, s, raw)
	readEcho(t, gw.do(t, "GET", "/relay", dpopHeaders(raw, proofWithNonce(t, s, raw, nonce)), nil))
	// A nonce the gateway never gave, and one of another gateway's secret.
	problemOf(t, gw.do(t, "GET", "/relay", dpopHeaders(raw, proofWithNonce(t, s, raw, "made-up-nonce")), nil), 401, guard.TypeUseDPoPNonce)
	other := startNonceGW(t, iss, u.URL, "", "")
	problemOf(t, gw.do(t, "GET", "/relay", dpopHeaders(raw, proofWithNonce(t, s, raw, nonceOf(t, other, s, raw))), nil), 401, guard.TypeUseDPoPNonce)

	// A reload keeps the gateway's own secret, also through a reload
	// that turns nonces off: the nonce stays good.
	vars := map[string]string{"ISS": iss.URL, "U": u.URL, "SECRET": ""}
	for _, yml := range []string{strings.Replace(nonceGatewayYAML, ", nonce: true", "", 1), nonceGatewayYAML} {
		if err := gw.Reload(context.Background(), mustParse(t, yml, vars)); err != nil {
			t.Fatalf("Reload: %v", err)
		}
	}
	readEcho(t, gw.do(t, "GET", "/relay", dpopHeaders(raw, proofWithNonce(t, s, raw, nonce)), nil))
}

// TestGatewayDPoPNonceSharedSecret: gateways with the same
// nonce_secret_env accept the nonces each other gave.
func TestGatewayDPoPNonceSharedSecret(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	secret := strings.Repeat("s3cr3t-", 8)
	a := startNonceGW(t, iss, u.URL, "GW_NONCE", secret)
	b := startNonceGW(t, iss, u.URL, "GW_NONCE", secret)
	s, _ := dpop.GenerateSigner()
	raw := iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})
	readEcho(t, b.do(t, "GET", "/relay", dpopHeaders(raw, proofWithNonce(t, s, raw, nonceOf(t, a, s, raw))), nil))
}

func TestGatewayDPoPNonceConfig(t *testing.T) {
	route := "routes:\n  - name: r\n    path: /\n    upstreams: [\"http://u\"]\n    auth: jwt\n"
	issuers := "issuers:\n  - {name: m, issuer: \"https://iss.example\", audiences: [a], jwks_file: x}\n"
	if _, err := ParseConfig("gateway.yaml", []byte("dpop: {nonce_secret_env: GW_NONCE}\n"+issuers+route)); err == nil ||
		!strings.Contains(err.Error(), "gateway.yaml:1: dpop.nonce_secret_env: a nonce secret is named but dpop.nonce is not true") {
		t.Fatalf("a secret without nonce: %v", err)
	}
	cfg, err := ParseConfig("gateway.yaml", []byte("dpop:\n  nonce: true\n  nonce_secret_env: GW_NONCE\n"+issuers+route))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ value, want string }{
		"unset": {"", "gateway.yaml:3: dpop.nonce_secret_env: the environment variable GW_NONCE is not set"},
		"short": {"too-short", "gateway.yaml:3: dpop.nonce_secret_env: the secret in GW_NONCE is 9 bytes, shorter than 32"},
	} {
		t.Run(name, func(t *testing.T) {
			err := cfg.ResolveEnv(func(string) (string, bool) { return tc.value, tc.value != "" })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.value) && tc.value != "" {
				t.Fatalf("the error quotes the secret: %v", err)
			}
		})
	}
	// Not resolved: New refuses rather than make a secret of its own.
	if _, err := New(context.Background(), cfg, Options{}); err == nil || !strings.Contains(err.Error(), "gateway.yaml:3: dpop.nonce_secret_env: GW_NONCE was not resolved") {
		t.Fatalf("New with an unresolved nonce secret: %v", err)
	}

	// Warnings: a fleet without a shared secret; a CORS route that hides
	// DPoP-Nonce from the browser.
	fleet := "ratelimit: {backend: redis, redis_url: \"redis://127.0.0.1:6379\"}\ndpop: {nonce: true}\n" + issuers +
		route + "    cors: {allowed_origins: [\"https://app.example\"], exposed_headers: [X-Request-Id]}\n"
	cfg, err = ParseConfig("gateway.yaml", []byte(fleet))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings() {
		got = append(got, w.Error())
	}
	if len(got) != 2 || !strings.Contains(got[0], "dpop.nonce: every gateway instance makes its own nonces") ||
		!strings.Contains(got[1], "routes[0].cors.exposed_headers: dpop.nonce is on and browsers") {
		t.Fatalf("warnings %q", got)
	}
	if len(cfg.Warnings()) != 2 {
		t.Fatal("Warnings is not the same on a second call")
	}
	shared := strings.Replace(fleet, "dpop: {nonce: true}", "dpop: {nonce: true, nonce_secret_env: GW_NONCE}", 1)
	for name, yml := range map[string]string{
		"DPoP-Nonce exposed":           strings.Replace(shared, "exposed_headers: [X-Request-Id]", "exposed_headers: [DPoP-Nonce, WWW-Authenticate]", 1),
		"every header exposed":         strings.Replace(shared, "exposed_headers: [X-Request-Id]", `exposed_headers: ["*"]`, 1),
		"a route that checks no token": strings.Replace(shared, "auth: jwt", "auth: none", 1),
	} {
		if cfg, err = ParseConfig("gateway.yaml", []byte(yml)); err != nil || len(cfg.Warnings()) != 0 {
			t.Fatalf("%s, in a fleet with a shared secret: %v, warnings %v", name, err, cfg.Warnings())
		}
	}
}
