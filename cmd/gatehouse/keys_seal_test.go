package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/demo"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

// rawKeys reads the signing_keys rows of the SQLite store in data with
// SQL, past the store: kid → the stored JWK.
func rawKeys(t *testing.T, data string) map[string][]byte {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, dbFile)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(t.Context(), `SELECT id, jwk FROM signing_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var id string
		var jwk []byte
		if err := rows.Scan(&id, &jwk); err != nil {
			t.Fatal(err)
		}
		out[id] = jwk
	}
	return out
}

// newKeySecret writes a new secret with 'gatehouse keys secret' and
// returns its file, value and fingerprint.
func newKeySecret(t *testing.T, dir, name string) (file, secret, fp string) {
	t.Helper()
	file = filepath.Join(dir, name)
	out := mustGH(t, "", "keys", "secret", "--out", file)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	secret = strings.TrimSpace(string(b))
	fp = keyseal.Fingerprint([]byte(secret))
	if !strings.Contains(out, "fingerprint "+fp) || strings.Contains(out, secret) {
		t.Fatalf("keys secret printed %q", out)
	}
	return file, secret, fp
}

// assertNoSecret fails the test when text holds one of secrets.
func assertNoSecret(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("a key-encryption secret was printed: %q", text)
		}
	}
}

func TestKeysSecret(t *testing.T) {
	dir := t.TempDir()
	file, secret, _ := newKeySecret(t, dir, "key-secret")
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v; want mode 0600", fi, err)
	}
	if err := keyseal.CheckSecret([]byte(secret)); err != nil || len(secret) != 43 {
		t.Fatalf("secret of %d bytes: %v", len(secret), err)
	}
	r := gh(t, "", "keys", "secret", "--out", file)
	if r.code != exitUsage || !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("second keys secret: exit %d, %q", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != secret {
		t.Error("the existing secret changed")
	}
	mustGH(t, "", "keys", "secret", "--out", file, "--force")
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) == secret {
		t.Error("--force did not replace the secret")
	}
	if r := gh(t, "", "keys", "secret", "--out", "-"); r.code != exitUsage || !strings.Contains(r.stderr, "never printed") {
		t.Errorf("--out -: exit %d, %q", r.code, r.stderr)
	}
}

// TestKeysReencryptRotatesTheSecret: keys sealed under a first secret;
// the second secret becomes current with the first as previous; reencrypt
// seals every key under the second; then the first is removed, and only
// the second opens the store.
func TestKeysReencryptRotatesTheSecret(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mustGH(t, "", "client", "add", "svc", "--grants", "client_credentials", "--data", data)
	s1, v1, fp1 := newKeySecret(t, dir, "secret.1")
	s2, v2, fp2 := newKeySecret(t, dir, "secret.2")
	kidOf := regexp.MustCompile(`signing key (\S+):`)

	r := gh(t, "", "keys", "rotate", "--publish-ahead", "0", "--data", data, "--secret-file", s1)
	if r.code != 0 || strings.Contains(r.stderr, "stored in clear") {
		t.Fatalf("keys rotate with a secret: exit %d, %q", r.code, r.stderr)
	}
	k1 := kidOf.FindStringSubmatch(r.stdout)[1]
	if raw := rawKeys(t, data)[k1]; keyseal.FingerprintOf(raw) != fp1 || bytes.Contains(raw, []byte(`"d"`)) {
		t.Fatalf("row of %s: %q, want sealed under %s", k1, raw, fp1)
	}

	// Without the secret, or with another one, the store refuses, naming
	// the key.
	r = gh(t, "", "keys", "rotate", "--data", data)
	if r.code != exitUsage || !strings.Contains(r.stderr, "signing key "+k1+" is sealed") || !strings.Contains(r.stderr, "--secret-file") {
		t.Errorf("keys rotate without the secret: exit %d, %q", r.code, r.stderr)
	}
	r = gh(t, "", "keys", "reencrypt", "--data", data, "--secret-file", s2)
	if r.code != exitUsage || !strings.Contains(r.stderr, "signing key "+k1+" is sealed under a key-encryption secret that is not configured (fingerprint "+fp1+")") {
		t.Errorf("keys reencrypt with another secret: exit %d, %q", r.code, r.stderr)
	}
	assertOneLine(t, r.stderr)
	assertNoSecret(t, r.stdout+r.stderr, v1, v2)

	// The rotation: the new secret current, the old one previous. A key
	// made meanwhile is sealed under the new one.
	r = gh(t, "", "keys", "rotate", "--publish-ahead", "0", "--data", data, "--secret-file", s2, "--previous-secret-file", s1)
	if r.code != 0 {
		t.Fatalf("keys rotate during the rotation: exit %d, %q", r.code, r.stderr)
	}
	k2 := kidOf.FindStringSubmatch(r.stdout)[1]
	if raw := rawKeys(t, data); keyseal.FingerprintOf(raw[k1]) != fp1 || keyseal.FingerprintOf(raw[k2]) != fp2 {
		t.Fatalf("rows before reencrypt: %s under %s, %s under %s", k1, keyseal.FingerprintOf(raw[k1]), k2, keyseal.FingerprintOf(raw[k2]))
	}
	out := mustGH(t, "", "keys", "reencrypt", "--data", data, "--secret-file", s2, "--previous-secret-file", s1)
	if !strings.Contains(out, "re-encrypted 1 signing key(s) sealed under a previous secret: "+k1+"\n") ||
		!strings.Contains(out, "all 2 signing key(s) of the store are sealed under the current secret (fingerprint "+fp2+")") {
		t.Errorf("keys reencrypt printed %q", out)
	}
	assertNoSecret(t, out, v1, v2)
	for id, raw := range rawKeys(t, data) {
		if keyseal.FingerprintOf(raw) != fp2 {
			t.Errorf("after reencrypt %s is sealed under %s, want %s", id, keyseal.FingerprintOf(raw), fp2)
		}
	}

	// The old secret removed: the new one alone opens every key; the old
	// one alone is refused, naming a key.
	out = mustGH(t, "", "keys", "reencrypt", "--data", data, "--secret-file", s2)
	if strings.Contains(out, "re-encrypted") || !strings.Contains(out, "all 2 signing key(s)") {
		t.Errorf("keys reencrypt with the new secret alone printed %q", out)
	}
	r = gh(t, "", "keys", "reencrypt", "--data", data, "--secret-file", s1)
	if r.code != exitUsage || !strings.Contains(r.stderr, "(fingerprint "+fp2+")") ||
		(!strings.Contains(r.stderr, "signing key "+k1+" ") && !strings.Contains(r.stderr, "signing key "+k2+" ")) {
		t.Errorf("keys reencrypt with the old secret alone: exit %d, %q", r.code, r.stderr)
	}

	// The secrets from the environment, as from --config.
	t.Setenv("GH_TEST_KEY_SECRET", v2)
	mustGH(t, "", "keys", "reencrypt", "--data", data, "--secret-env", "GH_TEST_KEY_SECRET")
	cfg := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(cfg, []byte("authserver:\n  issuer: http://127.0.0.1:9000\n  data: data\n  key_encryption:\n    secret_env: GH_TEST_KEY_SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustGH(t, "", "keys", "reencrypt", "--config", cfg)
}

func TestKeysReencryptRefusals(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mustGH(t, "", "client", "add", "svc", "--grants", "client_credentials", "--data", data)
	s1, _, _ := newKeySecret(t, dir, "secret.1")
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("too short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(cfg, []byte("authserver:\n  issuer: http://127.0.0.1:9000\n  data: data\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no secret", []string{"--data", data}, "no key-encryption secret given"},
		{"config without key_encryption", []string{"--config", cfg}, "no key-encryption secret given"},
		{"config and flags", []string{"--config", cfg, "--secret-file", s1}, "not both"},
		{"only a previous secret", []string{"--data", data, "--previous-secret-file", s1}, "give the current key-encryption secret with one of --secret-env NAME or --secret-file FILE"},
		{"both current flags", []string{"--data", data, "--secret-file", s1, "--secret-env", "X"}, "one of --secret-env NAME or --secret-file FILE"},
		{"unset variable", []string{"--data", data, "--secret-env", "GH_TEST_UNSET_KEY_SECRET"}, "--secret-env: environment variable GH_TEST_UNSET_KEY_SECRET is not set"},
		{"missing file", []string{"--data", data, "--secret-file", filepath.Join(dir, "nope")}, "--secret-file: open " + filepath.Join(dir, "nope")},
		{"short secret", []string{"--data", data, "--secret-file", short}, "--secret-file: the secret is 9 bytes; a key-encryption secret needs at least 32"},
		{"the same secret twice", []string{"--data", data, "--secret-file", s1, "--previous-secret-file", s1}, "previous secret 1 is the same secret as an earlier one"},
		{"no store", []string{"--data", filepath.Join(dir, "none"), "--secret-file", s1}, "no gatehouse store in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gh(t, "", append([]string{"keys", "reencrypt"}, tc.args...)...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
			assertOneLine(t, r.stderr)
		})
	}
}

// TestServeKeyEncryption: 'gatehouse serve' seals the keys of a store
// written in clear (with a warning) at its first start with a secret;
// without the secret, or with another one, the start fails at the key of
// the file, naming the signing key and never the secret.
func TestServeKeyEncryption(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s1, v1, fp1 := newKeySecret(t, dir, "secret.1")
	_, v2, fp2 := newKeySecret(t, dir, "secret.2")
	t.Setenv("GH_TEST_KEY_SECRET_2", v2)
	conf := func(extra string) func(addr string) string {
		return func(addr string) string {
			return fmt.Sprintf("authserver:\n  issuer: http://%s\n  listen: %s\n  data: %s\n%s", addr, addr, data, extra)
		}
	}

	// Before: no secret, keys in clear, and a warning.
	s := startServe(t, dir, conf(""))
	if !strings.Contains(s.stderr.String(), "signing keys are stored in clear") || !strings.Contains(s.stderr.String(), "authserver.key_encryption") {
		t.Errorf("no warning of keys in clear:\n%s", s.stderr)
	}
	s.stop()
	var kid string
	for id, raw := range rawKeys(t, data) {
		if !keyseal.IsClear(raw) {
			t.Fatalf("without a secret key %s is stored as %q", id, raw)
		}
		kid = id
	}

	// The first start with a secret seals them.
	withSecret := "  key_encryption:\n    secret_file: " + s1 + "\n"
	s = startServe(t, dir, conf(withSecret))
	logs := s.stderr.String()
	if !strings.Contains(logs, `"msg":"signing keys sealed at rest"`) || !strings.Contains(logs, `"secret_fingerprint":"`+fp1+`"`) ||
		!strings.Contains(logs, "were sealed under the current key-encryption secret") || !strings.Contains(logs, kid) {
		t.Errorf("the start that sealed the keys logged:\n%s", logs)
	}
	assertNoSecret(t, logs, v1)
	s.stop()
	for id, raw := range rawKeys(t, data) {
		if keyseal.FingerprintOf(raw) != fp1 || bytes.Contains(raw, []byte(`"d"`)) {
			t.Fatalf("after a start with the secret, key %s is stored as %q", id, raw)
		}
	}

	file := filepath.Join(dir, "gatehouse.yaml")
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("too short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, extra, want string
	}{
		{"no secret", "", file + ":2: authserver: signing key " + kid + " is sealed (under the secret of fingerprint " + fp1 + ") and no key-encryption secret is configured: configure the secret it was sealed with: set authserver.key_encryption.secret_env or secret_file"},
		{"another secret", "  key_encryption:\n    secret_env: GH_TEST_KEY_SECRET_2\n",
			file + ":6: authserver.key_encryption: signing key " + kid + " is sealed under a key-encryption secret that is not configured (fingerprint " + fp1 + "): configure that secret, as the current or a previous one; configured here: " + fp2 + " (current)"},
		{"unset variable", "  key_encryption:\n    secret_env: GH_TEST_UNSET_KEY_SECRET\n",
			file + ":6: authserver.key_encryption: the current key-encryption secret: secret_env: environment variable GH_TEST_UNSET_KEY_SECRET is not set"},
		{"short secret", "  key_encryption:\n    secret_file: " + short + "\n",
			file + ":6: authserver.key_encryption: the current key-encryption secret: the secret is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(file, []byte(conf(tc.extra)("127.0.0.1:0")), 0o600); err != nil {
				t.Fatal(err)
			}
			r := gh(t, "", "serve", "--config", file)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant 2 and %q", r.code, r.stderr, tc.want)
			}
			assertNoSecret(t, r.stdout+r.stderr, v1, v2)
		})
	}

	// The rotation: the new secret current, the old one previous; the
	// server starts, reencrypt seals under the new one, and the server
	// starts on the new secret alone.
	t.Setenv("GH_TEST_KEY_SECRET_1", v1)
	rotating := "  key_encryption:\n    secret_env: GH_TEST_KEY_SECRET_2\n    previous:\n      - secret_env: GH_TEST_KEY_SECRET_1\n"
	startServe(t, dir, conf(rotating)).stop()
	out := mustGH(t, "", "keys", "reencrypt", "--config", file)
	if !strings.Contains(out, "fingerprint "+fp2) {
		t.Errorf("keys reencrypt --config printed %q", out)
	}
	startServe(t, dir, conf("  key_encryption:\n    secret_env: GH_TEST_KEY_SECRET_2\n")).stop()
	for id, raw := range rawKeys(t, data) {
		if keyseal.FingerprintOf(raw) != fp2 {
			t.Errorf("after the rotation key %s is sealed under %s, want %s", id, keyseal.FingerprintOf(raw), fp2)
		}
	}
}

// TestKeysRotateOnADemoStore: the keys commands take the demo's own
// secret for a store the demo made.
func TestKeysRotateOnADemoStore(t *testing.T) {
	data := filepath.Join(t.TempDir(), "gatehouse-demo")
	mustGH(t, "", "client", "add", "svc", "--grants", "client_credentials", "--data", data)
	secret := keyseal.GenerateSecret()
	for name, content := range map[string]string{demo.MarkerFile: "gatehouse-demo 1\n", demo.KeySecretFile(data)[len(data)+1:]: secret + "\n"} {
		p := filepath.Join(data, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r := gh(t, "", "keys", "rotate", "--data", data)
	if r.code != 0 || strings.Contains(r.stderr, "stored in clear") {
		t.Fatalf("keys rotate on a demo store: exit %d, %q", r.code, r.stderr)
	}
	for id, raw := range rawKeys(t, data) {
		if keyseal.FingerprintOf(raw) != keyseal.Fingerprint([]byte(secret)) {
			t.Errorf("key %s is stored as %q, want sealed under the demo's secret", id, raw)
		}
	}
}
