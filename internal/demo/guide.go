package demo

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Commands returns the copy-paste shell commands of the guide, in order:
// each scenario's token request and calls through the gateway. They need
// only sh, curl and sed, and read passwords and secrets from the files of
// the data folder.
func Commands(env *Env) []string {
	dir := env.SecretsDir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	tokenFor := func(user, extra string) string {
		return fmt.Sprintf(`curl -s -u "cli:$(cat '%s')" -d grant_type=password -d username=%s --data-urlencode "password@%s"%s %s/oauth2/token | sed -E 's/.*"access_token":"([^"]+)".*/\1/'`,
			filepath.Join(dir, "cli.secret"), user, filepath.Join(dir, user+".password"), extra, env.Issuer)
	}
	gw := env.GatewayURL
	return []string{
		"# 000: alice gets a token (password grant) and calls accounts → admin through the gateway",
		"TOKEN=$(" + tokenFor("alice", "") + ")",
		fmt.Sprintf(`curl -s -H "Authorization: Bearer $TOKEN" %s/api/accounts`, gw),
		"# 001: users fans out to profiles with alice's token",
		fmt.Sprintf(`curl -s -H "Authorization: Bearer $TOKEN" %s/api/users/bob`, gw),
		"# 002: carol (globex) sees only globex orders; an acme order is 404",
		"CAROL=$(" + tokenFor("carol", "") + ")",
		fmt.Sprintf(`curl -s -H "Authorization: Bearer $CAROL" %s/api/orders`, gw),
		fmt.Sprintf(`curl -s -o /dev/null -w '%%{http_code}\n' -H "Authorization: Bearer $CAROL" %s/api/orders/A-1001`, gw),
		"# 003: orders pays through payments on alice's behalf (token exchange; the token must name orders in aud)",
		"PAYER=$(" + tokenFor("alice", " -d audience=api -d audience=orders") + ")",
		fmt.Sprintf(`curl -s -X POST -H "Authorization: Bearer $PAYER" %s/api/orders/A-1001/pay`, gw),
		"# 003: orders calls payments as itself (client credentials, no user)",
		fmt.Sprintf(`curl -s -H "Authorization: Bearer $TOKEN" %s/api/orders/settlement`, gw),
		"# 002: logout: revoke carol's token; the gateway refuses it at once",
		fmt.Sprintf(`curl -s -u "cli:$(cat '%s')" -d "token=$CAROL" %s/oauth2/revoke`, filepath.Join(dir, "cli.secret"), env.Issuer),
		fmt.Sprintf(`curl -s -o /dev/null -w '%%{http_code}\n' -H "Authorization: Bearer $CAROL" %s/api/orders`, gw),
	}
}

// boundSteps are the guide's lines on the walkthrough's sender-constrained
// tokens (docs/bound-tokens.md, walkthrough_dpop.go, walkthrough_mtls.go).
var boundSteps = []string{
	"It also shows sender-constrained tokens (docs/bound-tokens.md):",
	"  - the app's DPoP-bound token (cnf.jkt): good with a proof of this request; refused (401, WWW-Authenticate: DPoP",
	"    error=\"invalid_dpop_proof\") with a proof for another URL, a replayed proof or another key's, and as plain Bearer;",
	"    its refresh token is refused with another key's proof",
	"  - payments takes only tokens bound to the caller's certificate (cnf.x5t#S256): orders' token is good over orders'",
	"    connection, refused (401) when replayed by " + intruderID.String() + ", and without a workload certificate",
	"    it does not get past the handshake",
}

// PrintGuide prints the browser app to start with, what runs where, the
// demo users and clients, and the curl commands of each scenario.
func PrintGuide(w io.Writer, env *Env) {
	fmt.Fprintf(w, "gatehouse demo is running (%s)\n\n", env.Engines)
	where := "password below"
	if !env.NewSecrets {
		where = "password in " + filepath.Join(env.SecretsDir, "alice.password")
	}
	fmt.Fprintf(w, "Start here: open %s and log in as alice (%s).\nThe app lists, creates,", env.AppURL, where)
	fmt.Fprintln(w, " pays and deletes orders through the gateway and renews its one-minute tokens in the background;")
	fmt.Fprintln(w, "its tokens are DPoP-bound to a key the browser holds and cannot export.")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  auth server    %s  (discovery: %s/.well-known/openid-configuration)\n", env.Issuer, env.Issuer)
	fmt.Fprintf(w, "  gateway        %s  (admin, metrics: %s/metrics)\n", env.GatewayURL, env.AdminURL)
	fmt.Fprintf(w, "  browser app    %s  (files from %s)\n", env.AppURL, env.Services["app"])
	for _, s := range []string{"accounts", "admin", "users", "profiles", "orders", "payments", "legacy"} {
		fmt.Fprintf(w, "  %-14s %s\n", s, env.Services[s])
	}
	fmt.Fprintln(w, "\nUsers (organization, groups):  alice (acme, admin)  bob (acme)  carol (globex)")
	if env.NewSecrets {
		fmt.Fprintf(w, "Passwords (shown once; kept in %s, a folder of the demo's own):\n", env.SecretsDir)
		for _, u := range demoUsers {
			fmt.Fprintf(w, "  %-6s %s\n", u.Username, env.Passwords[u.Username])
		}
	} else {
		fmt.Fprintf(w, "Passwords: in %s/<user>.password\n", env.SecretsDir)
	}
	fmt.Fprintf(w, "Clients: cli (confidential: password, refresh, token exchange; secret in %s/cli.secret)\n", env.SecretsDir)
	fmt.Fprintf(w, "         spa (public: code + PKCE, the browser app, DPoP-bound tokens; redirect %scallback)\n", env.AppURL)
	fmt.Fprintf(w, "         %s (one per service: client credentials, token exchange)\n", strings.Join(serviceClients, ", "))
	fmt.Fprintf(w, "         orders authenticates with its workload certificate at %s (tls_client_auth) and gets certificate-bound tokens\n", env.MTLSURL)
	fmt.Fprintln(w, "\nTry it (sh, curl and sed):")
	for _, c := range Commands(env) {
		if strings.HasPrefix(c, "#") {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, c)
	}
	fmt.Fprintln(w, "\nOr let the demo run every step itself: gatehouse demo --walkthrough")
	fmt.Fprintln(w, traceHint(env.tracing)) // tracing.go
	for _, l := range boundSteps {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, "Stop with Ctrl-C.")
}
