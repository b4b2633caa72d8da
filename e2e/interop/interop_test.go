// Package interop tests gatehouse's auth server with OAuth clients written
// by others: panva's openid-client 6 and jose 6 (Node.js, pinned in
// e2e/package.json), next to the Go clients the other tests use.
//
// TestThirdPartyClients starts `gatehouse serve --config` on free ports of
// 127.0.0.1 with a configuration written for it (the auth server, and a
// gateway with DPoP server nonces in front of an upstream of the test), and
// runs clients.mjs,
// which prints one line per check. It skips without Node.js or
// e2e/node_modules, and fails instead under CI=true (see internal/nodetest).
package interop

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/nodetest"
)

// Client ids, audiences and the user of the configuration; clients.mjs
// gets them through the environment.
const (
	basicClient    = "svc-basic"
	postClient     = "svc-post"
	rawClient      = "svc-raw"
	appClient      = "app"
	exchangeClient = "orders-svc"
	// parClient pushes its authorization requests (RFC 9126, required) and
	// gets DPoP-bound tokens (RFC 9449, required); mtlsClient authenticates
	// with a certificate of 'gatehouse ca' (tls_client_auth, RFC 8705) and
	// gets tokens bound to it.
	parClient   = "par-app"
	mtlsClient  = "svc-mtls"
	mtlsID      = "spiffe://interop.test/svc-mtls"
	ccAudience  = "reports"
	exchangeAud = "payments"
	username    = "alice"
	// appRedirect is never served: the test reads the Location header of
	// the login's redirect and stops there.
	appRedirect = "http://127.0.0.1:9/callback"
	// appLoggedOut is the app's post_logout_redirect_uri, never served
	// either.
	appLoggedOut = "http://127.0.0.1:9/logged-out"
)

// keyNames are the private_key_jwt keys keygen.mjs writes; client
// pkjwt-<name> registers <name>.jwks.json.
var keyNames = []string{"es256", "rs256", "ed25519", "ed25519-eddsa", "ed25519-noalg"}

// random returns n random bytes as hex.
func random(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

// writeFile writes content to dir/name with mode 0600 and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	return p
}

// config is the gatehouse.yaml of the test: secrets come from environment
// variables and files, the private_key_jwt keys from JWKS files.
func config(addr, data, dir, postSecretFile, signingAlg string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `authserver:
  issuer: http://%[1]s
  listen: %[1]s
  data: %[2]s
  signing_alg: %[13]s
  access_token_ttl: 5m
  organizations:
    - id: acme
  users:
    - username: %[3]s
      email: alice@acme.test
      name: Alice Liddell
      password_env: GH_INTEROP_PASSWORD
      org: acme
      roles: [admin]
  clients:
    - id: %[4]s
      secret_env: GH_INTEROP_BASIC_SECRET
      grants: [client_credentials]
      audiences: [%[5]s]
    - id: %[6]s
      secret_file: %[7]s
      grants: [client_credentials]
      audiences: [%[5]s]
    - id: %[8]s
      secret_env: GH_INTEROP_RAW_SECRET
      grants: [client_credentials]
      audiences: [%[5]s]
    - id: %[9]s
      public: true
      grants: [authorization_code, refresh_token]
      redirect_uris: [%[10]s]
      post_logout_redirect_uris: [%[14]s]
      scopes: [openid, profile, email, orders:read]
      audiences: [%[11]s]
    - id: %[11]s
      secret_env: GH_INTEROP_EXCHANGE_SECRET
      grants: [urn:ietf:params:oauth:grant-type:token-exchange]
      introspection: true
      scopes: [orders:read]
      audiences: [%[12]s]
`, addr, data, username, basicClient, ccAudience, postClient, postSecretFile, rawClient,
		appClient, appRedirect, exchangeClient, exchangeAud, signingAlg, appLoggedOut)
	for _, name := range keyNames {
		fmt.Fprintf(&b, `    - id: pkjwt-%[1]s
      jwks_file: %[2]s
      grants: [client_credentials]
      audiences: [%[3]s]
`, name, filepath.Join(dir, name+".jwks.json"), ccAudience)
	}
	return b.String()
}

// boundConfig is the rest of the authserver section for sender-constrained
// tokens: the PAR + DPoP and the tls_client_auth clients, server nonces
// for DPoP, and the mutual-TLS listener on mtlsAddr with a certificate of
// the test's 'gatehouse ca' (files under dir: ca/, server/).
func boundConfig(mtlsAddr, dir string) string {
	return fmt.Sprintf(`    - id: %[1]s
      public: true
      grants: [authorization_code]
      redirect_uris: [%[2]s]
      scopes: [openid, profile, email]
      require_pushed_authorization_requests: true
      dpop_bound_access_tokens: true
    - id: %[3]s
      tls_client_auth_san_uri: %[4]s
      tls_client_certificate_bound_access_tokens: true
      grants: [client_credentials]
      audiences: [%[5]s]
  dpop:
    nonce: true
  mtls:
    listen: %[6]s
    url: https://%[6]s
    cert_file: %[7]s
    key_file: %[8]s
    client_ca_file: %[9]s
`, parClient, appRedirect, mtlsClient, mtlsID, ccAudience, mtlsAddr,
		filepath.Join(dir, "server", "svid.crt"), filepath.Join(dir, "server", "svid.key"), filepath.Join(dir, "ca", "ca.crt"))
}

// gatewayConfig is the gateway section: one route to upstream for the
// client-credentials tokens of ccAudience, DPoP-bound ones checked with
// server nonces (gateway.dpop.nonce), which openid-client's
// fetchProtectedResource must pick up from the refusal and retry with.
func gatewayConfig(gwAddr, adminAddr, issuer, upstream string) string {
	return fmt.Sprintf(`gateway:
  listen: %[1]s
  admin_listen: %[2]s
  issuers:
    - name: main
      issuer: %[3]s
      audiences: [%[4]s]
  dpop: {external_url: "http://%[1]s", nonce: true}
  routes:
    - name: reports
      path: /api/reports
      upstreams: ["%[5]s"]
      auth: jwt
      sender_constraint: dpop
`, gwAddr, adminAddr, issuer, ccAudience, upstream)
}

// issueCertificates makes the test's CA with 'gatehouse ca init' and two
// SVIDs with 'gatehouse ca issue': the mutual-TLS listener's (server/) and
// the tls_client_auth client's (client/).
func issueCertificates(t *testing.T, ctx context.Context, dir string) {
	t.Helper()
	bin := nodetest.Binary(t)
	for _, args := range [][]string{
		{"ca", "init", "--trust-domain", "interop.test", "--dir", filepath.Join(dir, "ca")},
		{"ca", "issue", "--dir", filepath.Join(dir, "ca"), "--id", "spiffe://interop.test/authserver", "--out", filepath.Join(dir, "server")},
		{"ca", "issue", "--dir", filepath.Join(dir, "ca"), "--id", mtlsID, "--out", filepath.Join(dir, "client")},
	} {
		if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args[:2], " "), err, out)
		}
	}
}

// signingAlgs are the algorithms the auth server signs tokens with
// (authserver.signing_alg): each gets its own server and run of the checks,
// since openid-client checks ID tokens and jose access tokens of each.
var signingAlgs = []string{"ES256", "EdDSA", "RS256", "PS256"}

func TestThirdPartyClients(t *testing.T) {
	nodetest.E2EDir(t) // skips (or fails under CI) without node and node_modules
	nodetest.Binary(t) // built once, before the parallel subtests
	for _, alg := range signingAlgs {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			runClients(t, alg)
		})
	}
}

// runClients starts `gatehouse serve` signing with signingAlg and runs
// clients.mjs against it.
func runClients(t *testing.T, signingAlg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()

	// The client keys, made by jose as a Node.js client would make them.
	nodetest.Node(t, ctx, nil, "interop/keygen.mjs", dir)

	// Secrets: client_secret_basic with every character RFC 6749 §2.3.1's
	// form encoding changes; one that is not a valid form encoding at all
	// (sent raw, as Python requests does); the others plain.
	secrets := map[string]string{
		"GH_INTEROP_BASIC_SECRET":    "p%41ss&w=rd+x:y z-" + random(t, 8),
		"GH_INTEROP_RAW_SECRET":      "raw%zz&k=v%-" + random(t, 8),
		"GH_INTEROP_EXCHANGE_SECRET": "exchange-" + random(t, 16),
		"GH_INTEROP_PASSWORD":        "alice-" + random(t, 8),
	}
	postSecret := "post-" + random(t, 16)
	postSecretFile := writeFile(t, dir, "post.secret", postSecret+"\n")
	secretValues := []string{postSecret}
	for _, v := range secrets {
		secretValues = append(secretValues, v)
	}

	// The port may be taken between FreePort and the server's listen; the
	// start then fails with "already in use" and the test with it.
	addr := fmt.Sprintf("127.0.0.1:%d", nodetest.FreePort(t))
	mtlsAddr := fmt.Sprintf("127.0.0.1:%d", nodetest.FreePort(t))
	gwAddr := fmt.Sprintf("127.0.0.1:%d", nodetest.FreePort(t))
	adminAddr := fmt.Sprintf("127.0.0.1:%d", nodetest.FreePort(t))
	// The gateway's upstream: says which client the gateway let through.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"report":42,"dpop_header":%t}`, r.Header.Get("DPoP") != "")
	}))
	defer upstream.Close()
	issueCertificates(t, ctx, dir)
	cfg := writeFile(t, dir, "gatehouse.yaml", config(addr, filepath.Join(dir, "data"), dir, postSecretFile, signingAlg)+
		boundConfig(mtlsAddr, dir)+gatewayConfig(gwAddr, adminAddr, "http://"+addr, upstream.URL))
	var serverEnv []string
	for k, v := range secrets {
		serverEnv = append(serverEnv, k+"="+v)
	}
	p := nodetest.Start(t, dir, serverEnv, "serve", "--config", cfg)
	// Also when a check fails: the server's log holds no secret and no JWT
	// (it names tokens by jti).
	t.Cleanup(func() {
		if leaks(p.Output(), secretValues) {
			t.Error("a secret, password or JWT appears in the server's log")
		}
	})
	p.WaitFor(t, "gatehouse: auth server listening on http://"+addr, 30*time.Second)
	p.WaitFor(t, "gatehouse: auth server mutual-TLS listener on https://"+mtlsAddr, 5*time.Second)
	p.WaitFor(t, "gatehouse: gateway listening on http://"+gwAddr, 5*time.Second)

	out := nodetest.Node(t, ctx, []string{
		"GH_ISSUER=http://" + addr,
		"GH_BASIC_ID=" + basicClient, "GH_BASIC_SECRET=" + secrets["GH_INTEROP_BASIC_SECRET"],
		"GH_POST_ID=" + postClient, "GH_POST_SECRET=" + postSecret,
		"GH_RAW_ID=" + rawClient, "GH_RAW_SECRET=" + secrets["GH_INTEROP_RAW_SECRET"],
		"GH_CC_AUDIENCE=" + ccAudience,
		"GH_APP_ID=" + appClient, "GH_APP_REDIRECT=" + appRedirect, "GH_APP_LOGGED_OUT=" + appLoggedOut,
		"GH_USER=" + username, "GH_PASSWORD=" + secrets["GH_INTEROP_PASSWORD"],
		"GH_EXCHANGE_ID=" + exchangeClient, "GH_EXCHANGE_SECRET=" + secrets["GH_INTEROP_EXCHANGE_SECRET"],
		"GH_EXCHANGE_AUDIENCE=" + exchangeAud,
		"GH_KEY_DIR=" + dir,
		"GH_SIGNING_ALG=" + signingAlg,
		"GH_PAR_ID=" + parClient,
		"GH_MTLS_ID=" + mtlsClient, "GH_MTLS_DIR=" + filepath.Join(dir, "client"),
		"GH_GATEWAY_URL=http://" + gwAddr,
	}, "interop/clients.mjs")

	t.Logf("clients.mjs:\n%s", out)
	if leaks(out, secretValues) {
		t.Error("a secret, password or JWT appears in the script's output")
	}
}

// leaks reports whether text holds one of the secrets or a JWT.
func leaks(text string, secrets []string) bool {
	for _, s := range secrets {
		if strings.Contains(text, s) {
			return true
		}
	}
	return jwtPattern.MatchString(text)
}

// jwtPattern matches the start of a compact JWS: a base64url JSON header
// ("eyJ" is `{"`) and the dot after it.
var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)
