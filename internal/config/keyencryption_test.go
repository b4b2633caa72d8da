package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyEncryption(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(filepath.Join(dir, "old.secret"), []byte("an old key-encryption secret of 32+ bytes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GH_TEST_KEY_SECRET", "the current key-encryption secret, 32+ bytes")
	data := []byte(`authserver:
  issuer: http://a
  key_encryption:
    secret_env: GH_TEST_KEY_SECRET
    previous:
      - secret_file: old.secret
`)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	k := f.AuthServer.KeyEncryption
	if k == nil || k.Line != 4 || len(k.Previous) != 1 || k.Previous[0].Line != 6 {
		t.Fatalf("key_encryption = %+v", k)
	}
	if v, err := k.Current().Resolve(); err != nil || string(v) != "the current key-encryption secret, 32+ bytes" {
		t.Fatalf("current secret: %q, %v", v, err)
	}
	if v, err := k.Previous[0].Resolve(); err != nil || string(v) != "an old key-encryption secret of 32+ bytes" {
		t.Fatalf("previous secret from the file's folder: %q, %v", v, err)
	}
	if _, err := (KeySecret{Env: "GH_TEST_UNSET_KEY_SECRET"}).Resolve(); err == nil || !strings.Contains(err.Error(), "GH_TEST_UNSET_KEY_SECRET is not set") {
		t.Errorf("unset variable: %v", err)
	}
}

func TestKeyEncryptionRefusals(t *testing.T) {
	head := "authserver:\n  issuer: http://a\n  key_encryption:\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"the secret in the file", head + "    secret: a-secret-in-the-file-of-32-bytes-or-more\n",
			`k.yaml:4: authserver.key_encryption.secret: unknown key`},
		{"none", head + "    previous: [{secret_env: OLD}]\n",
			"k.yaml:3: authserver.key_encryption: needs exactly one of secret_env, secret_file (a key-encryption secret is never written in the file)"},
		{"both", head + "    secret_env: A\n    secret_file: b\n",
			"k.yaml:3: authserver.key_encryption: needs exactly one of secret_env, secret_file"},
		{"empty previous", head + "    secret_env: A\n    previous:\n      - {}\n",
			"k.yaml:6: authserver.key_encryption.previous[0]: needs exactly one of secret_env, secret_file"},
		{"previous in the file", head + "    secret_env: A\n    previous:\n      - secret: old\n",
			"k.yaml:6: authserver.key_encryption.previous[0].secret: unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("k.yaml", []byte(tc.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("Parse = %v, want an error starting %q", err, tc.want)
			}
		})
	}
}
