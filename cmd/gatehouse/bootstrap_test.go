package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesBadClientKeys: a client's jwks_file (private_key_jwt)
// must exist and hold a public key; a public client cannot have one.
func TestServeRefusesBadClientKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	data := filepath.Join(dir, "data")
	symmetric := write("hs.jwks", `{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA","alg":"HS256"}]}`)
	client := func(extra string) string {
		return "authserver:\n  issuer: http://127.0.0.1:9000\n  data: " + data + "\n  clients:\n    - id: signer\n      grants: [client_credentials]\n" + extra
	}
	for _, tt := range []struct {
		name, file, want string
	}{
		{"missing file", client("      jwks_file: " + filepath.Join(dir, "nope.jwks") + "\n"), `client "signer": jwks_file: open`},
		{"symmetric key only", client("      jwks_file: " + symmetric + "\n"), `client "signer": jwks_file ` + symmetric + ` holds no public key of a supported kind`},
		{"public with keys", client("      public: true\n      jwks_file: " + symmetric + "\n"), `client "signer" is public and must not have keys`},
		{"neither secret nor keys", client(""), `client "signer": `},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := gh(t, "", "serve", "--config", write(strings.ReplaceAll(tt.name, " ", "_")+".yaml", tt.file))
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tt.want)
			}
			assertOneLine(t, r.stderr)
		})
	}
}

// TestServeRefusesWeakUserPasswords: a user's password from the
// configuration (password, password_env, password_file) follows the
// password policy before anything is written; a password_hash is not
// checked.
func TestServeRefusesWeakUserPasswords(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	pwFile := filepath.Join(dir, "short.password")
	if err := os.WriteFile(pwFile, []byte("k7#Qz!p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GH_TEST_COMMON_PASSWORD", "Qwertyuiop")
	user := func(pw string) string {
		return "authserver:\n  issuer: http://127.0.0.1:9000\n  data: " + data + "\n  users:\n    - username: alice\n      email: alice@acme.test\n" + pw
	}
	for _, tt := range []struct {
		name, file, want string
	}{
		{"short password", user("      password: abc\n"), `user "alice": the password is shorter than 8 characters: choose a longer one`},
		{"short password_file", user("      password_file: " + pwFile + "\n"), `user "alice": the password is shorter than 8 characters`},
		{"common password", user("      password: password1\n"), `user "alice": the password is one of the 10,000 most common passwords (compared without regard to case)`},
		{"common password_env", user("      password_env: GH_TEST_COMMON_PASSWORD\n"), `user "alice": the password is one of the 10,000 most common passwords`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			r := gh(t, "", "serve", "--config", path)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, path+":") {
				t.Fatalf("exit %d, stderr %q; want 2 and %s:LINE: %q", r.code, r.stderr, path, tt.want)
			}
			assertOneLine(t, r.stderr)
			if _, err := os.Stat(data); err == nil {
				t.Errorf("the refused configuration created the store %s", data)
			}
		})
	}
}
