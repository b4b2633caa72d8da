package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// result is what one run of the command line gave.
type result struct {
	code           int
	stdout, stderr string
}

// gh runs the gatehouse command line with args and stdin.
func gh(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// mustGH runs args and fails the test unless they exit 0.
func mustGH(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := gh(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("gatehouse %s: exit %d, stderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// assertOneLine checks that stderr is exactly one non-empty line.
func assertOneLine(t *testing.T, stderr string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || len(strings.TrimSpace(stderr)) == 0 {
		t.Errorf("stderr is not exactly one line: %q", stderr)
	}
}

// assertNoToken checks that text repeats no part of raw that is not its
// (predictable) header.
func assertNoToken(t *testing.T, text, raw string) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if strings.Contains(text, raw) {
		t.Errorf("output repeats the token: %q", text)
	}
	for _, p := range parts[1:] {
		if len(p) > 8 && strings.Contains(text, p) {
			t.Errorf("output repeats part of the token: %q", text)
		}
	}
}

// genKey writes a new key of alg to dir/name with 'keys generate'.
func genKey(t *testing.T, dir, name string, alg keys.Algorithm, extra ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	mustGH(t, "", append([]string{"keys", "generate", "--alg", string(alg), "--out", path}, extra...)...)
	return path
}

// writePEMKey writes a PKCS#8 P-256 private key to dir/name.
func writePEMKey(t *testing.T, dir, name string) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// decodeJSON decodes s into a map, failing the test otherwise.
func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, s)
	}
	return m
}

// commandPaths lists every command of the tree, without cobra's help.
func commandPaths(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	root := newRootCmd(&env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	out = append(out, nil)
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			continue
		}
		out = append(out, []string{c.Name()})
		for _, s := range c.Commands() {
			out = append(out, []string{c.Name(), s.Name()})
		}
	}
	return out
}

func TestHelpHasExamples(t *testing.T) {
	paths := commandPaths(t)
	if len(paths) != 26 { // root, serve, user(3), client(3), keys(5), token(4), ca(2), demo, version
		t.Fatalf("command tree has %d commands, want 26: %v", len(paths), paths)
	}
	for _, p := range paths {
		name := strings.Join(append([]string{"gatehouse"}, p...), " ")
		t.Run(name, func(t *testing.T) {
			r := gh(t, "", append(p, "--help")...)
			if r.code != 0 {
				t.Fatalf("--help: exit %d, stderr %q", r.code, r.stderr)
			}
			i := strings.Index(r.stdout, "Examples:\n")
			if i < 0 {
				t.Fatalf("--help has no Examples section:\n%s", r.stdout)
			}
			if !strings.Contains(r.stdout[i:], "  "+name) {
				t.Errorf("the examples do not show %q:\n%s", name, r.stdout[i:])
			}
		})
	}
}

// TestExamplesRun runs the Example block of every command as a bash script
// with the built binary, so that the examples stay copy-pasteable.
func TestExamplesRun(t *testing.T) {
	bash, bin := buildForShell(t)

	// Fixtures the examples refer to.
	fix := t.TempDir()
	key := genKey(t, fix, "key.jwk", keys.ES256)
	genKey(t, fix, "current.jwk", keys.ES256)
	genKey(t, fix, "previous.jwk", keys.EdDSA)
	genKey(t, fix, "secret.jwk", keys.HS256)
	writePEMKey(t, fix, "server.pem")
	jwks := mustGH(t, "", "keys", "jwks", key)
	raw := strings.TrimSpace(mustGH(t, "", "token", "mint", "--key", key, "--iss", "https://auth.example", "--aud", "orders", "--sub", "alice"))
	for name, data := range map[string]string{"jwks.json": jwks, "token.jwt": raw + "\n"} {
		if err := os.WriteFile(filepath.Join(fix, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := serveJWKS(t, jwks)
	adminFixture(t, fix)
	mustGH(t, "", "ca", "init", "--trust-domain", "shop.test", "--dir", filepath.Join(fix, "ca"))

	// Commands whose examples make their own files run in an empty directory.
	empty := map[string]bool{"gatehouse": true, "gatehouse keys generate": true, "gatehouse ca": true, "gatehouse ca init": true}
	root := newRootCmd(&env{stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	for _, p := range commandPaths(t) {
		c, _, err := root.Find(p)
		if err != nil {
			t.Fatal(err)
		}
		name := c.CommandPath()
		if name == "gatehouse demo" || name == "gatehouse serve" {
			continue // demo and serve run until stopped (TestDemo*, TestServeEndToEnd)
		}
		t.Run(name, func(t *testing.T) {
			script := strings.ReplaceAll(c.Example, "https://auth.example/.well-known/jwks.json", srv.URL+"/.well-known/jwks.json")
			script = dropServe(script)
			if _, err := exec.LookPath("jq"); err != nil && strings.Contains(script, "jq ") {
				t.Skip("jq not found")
			}
			dir := t.TempDir()
			if !empty[name] {
				copyDir(t, fix, dir)
			}
			cmd := exec.Command(bash, "-euo", "pipefail", "-c", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "TOKEN="+raw)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("example failed: %v\n--- script\n%s\n--- output\n%s", err, script, out)
			}
		})
	}
}

// adminFixture puts in dir what the examples of the admin commands refer
// to: a gatehouse.yaml, a store in ./gatehouse-data with the user dave and
// the client legacy-batch (the examples add alice, bob, carol,
// svc-accounts, spa and cli themselves), and password.txt.
func adminFixture(t *testing.T, dir string) {
	t.Helper()
	data := filepath.Join(dir, "gatehouse-data")
	mustGH(t, "", "user", "add", "dave", "--email", "dave@acme.test", "--data", data)
	mustGH(t, "", "client", "add", "legacy-batch", "--grants", "client_credentials", "--data", data)
	for name, content := range map[string]string{
		"gatehouse.yaml": "authserver:\n  issuer: http://127.0.0.1:9000\n  data: ./gatehouse-data\n",
		"password.txt":   "correct horse battery staple\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// dropServe removes the lines that run 'gatehouse serve', which runs until
// it is stopped, from a script.
func dropServe(script string) string {
	var keep []string
	for _, line := range strings.Split(script, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "gatehouse serve") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// buildForShell returns the path of bash and a directory holding a freshly
// built gatehouse binary, or skips the test.
func buildForShell(t *testing.T) (bash, bin string) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	return bash, filepath.Dir(buildBinary(t))
}

// buildBinary builds gatehouse into a temporary directory and returns its
// path, or skips the test under -short or without the go tool.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	bin := filepath.Join(t.TempDir(), "gatehouse")
	// Static, -trimpath and -tags grpcnotrace, as deploy/build.sh builds
	// the release: the tests that build the binary share one build cache
	// (.ci/run warms it).
	build := exec.Command(goTool, "build", "-trimpath", "-tags", "grpcnotrace", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestREADMECommands runs the sh blocks of README.md that show the
// gatehouse command, in order, as one bash script.
func TestREADMECommands(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	for _, block := range strings.Split(string(readme), "```sh\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if strings.Contains(block, "gatehouse serve") {
			continue // runs until stopped; TestServeEndToEnd covers it
		}
		for _, c := range []string{"gatehouse keys", "gatehouse token", "gatehouse user", "gatehouse client", "gatehouse ca"} {
			if strings.Contains(block, c) {
				script.WriteString(block)
				break
			}
		}
	}
	for _, c := range []string{"gatehouse token verify", "gatehouse user add", "gatehouse client add", "gatehouse keys rotate", "gatehouse token revoke", "gatehouse ca issue"} {
		if !strings.Contains(script.String(), c) {
			t.Fatalf("README.md shows no %s:\n%s", c, script.String())
		}
	}
	bash, bin := buildForShell(t)
	cmd := exec.Command(bash, "-euo", "pipefail", "-c", script.String())
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README commands failed: %v\n--- script\n%s\n--- output\n%s", err, script.String(), out)
	}
	if !strings.Contains(string(out), `"tier": "gold"`) || !strings.Contains(string(out), "# UNVERIFIED") {
		t.Errorf("README commands did not verify and decode the token:\n%s", out)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := os.Mkdir(filepath.Join(to, e.Name()), 0o700); err != nil {
				t.Fatal(err)
			}
			copyDir(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNoArgsShowsHelp(t *testing.T) {
	r := gh(t, "")
	if r.code != 0 || !strings.Contains(r.stdout, "Available Commands:") {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
}

func TestUnknownCommand(t *testing.T) {
	raw := "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"root", []string{"tokn"}, `unknown command "tokn" (did you mean "token"?)`},
		{"group", []string{"keys", "delete"}, `gatehouse keys: unknown command "delete"`},
		{"token pasted as a command", []string{"token", raw}, "gatehouse token: unknown command;"},
		{"unknown root flag", []string{"--verbose"}, "unknown flag: --verbose"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gh(t, "", tc.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", r.code, exitUsage, r.stderr)
			}
			assertOneLine(t, r.stderr)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			assertNoToken(t, r.stderr, raw)
		})
	}
}

func TestVersion(t *testing.T) {
	r := gh(t, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "gatehouse devel") || r.stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := gh(t, "", "version", "extra"); r.code != exitUsage {
		t.Errorf("version with an argument: exit %d, want 2", r.code)
	}
}

// TestStandardClaimsCoverClaims keeps the --claim refusals in step with the
// fields of token.Claims: every field's claim name is refused, and nothing
// else is.
func TestStandardClaimsCoverClaims(t *testing.T) {
	fields := map[string]bool{}
	typ := reflect.TypeFor[token.Claims]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && name != "" && name != "-" {
			fields[name] = true
		}
	}
	if len(fields) < 19 {
		t.Fatalf("found %d claim fields in token.Claims, want at least 19", len(fields))
	}
	for name := range fields {
		if _, ok := standardClaims[name]; !ok {
			t.Errorf("claim %q of token.Claims is not refused by --claim", name)
		}
	}
	for name := range standardClaims {
		if !fields[name] {
			t.Errorf("--claim refuses %q, which token.Claims does not have", name)
		}
	}
}
