package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAuthServerDPoP(t *testing.T) {
	const head = "authserver:\n  issuer: http://a\n  dpop:\n"
	for _, tt := range []struct {
		name, yaml, want string // want "" means valid
	}{
		{"defaults", head + "    window: 0s\n", ""},
		{"nonce with a secret file", head + "    window: 2m\n    nonce: true\n    nonce_secret_file: nonce.key\n", ""},
		{"nonce without a secret", head + "    nonce: true\n", ""},
		{"window negative", head + "    window: -1s\n", "gatehouse.yaml:4: authserver.dpop.window: must be between 1s and 10m"},
		{"window too long", head + "    window: 1h\n", "gatehouse.yaml:4: authserver.dpop.window: must be between 1s and 10m"},
		{"window under a second", head + "    window: 10ms\n", "gatehouse.yaml:4: authserver.dpop.window: must be at least 1s"},
		{"both secrets", head + "    nonce: true\n    nonce_secret_env: X\n    nonce_secret_file: f\n", "gatehouse.yaml:6: authserver.dpop.nonce_secret_file: give nonce_secret_env or nonce_secret_file, not both"},
		{"secret without nonce", head + "    nonce_secret_env: X\n", "gatehouse.yaml:3: authserver.dpop.nonce: a nonce secret is given but nonce is not true"},
		{"unknown key", head + "    nonces: true\n", `gatehouse.yaml:4: authserver.dpop.nonces: unknown key (did you mean "nonce"?)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("gatehouse.yaml", []byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestDPoPNonceSecret(t *testing.T) {
	dir := t.TempDir()
	long, short := filepath.Join(dir, "long"), filepath.Join(dir, "short")
	os.WriteFile(long, []byte(strings.Repeat("s", 40)+"\n"), 0o600)
	os.WriteFile(short, []byte("too-short"), 0o600)
	if s, err := (&DPoP{Nonce: true, NonceSecretFile: long}).ResolveNonceSecret(); err != nil || len(s) != 40 {
		t.Fatalf("secret of %d bytes, %v", len(s), err)
	}
	if _, err := (&DPoP{Nonce: true, NonceSecretFile: short}).ResolveNonceSecret(); err == nil || strings.Contains(err.Error(), "too-short") {
		t.Fatalf("short secret: %v", err)
	}
	t.Setenv("GATEHOUSE_TEST_NONCE", strings.Repeat("e", 32))
	if s, err := (&DPoP{Nonce: true, NonceSecretEnv: "GATEHOUSE_TEST_NONCE"}).ResolveNonceSecret(); err != nil || len(s) != 32 {
		t.Fatalf("env secret: %v", err)
	}
	if s, err := (&DPoP{Nonce: true}).ResolveNonceSecret(); s != nil || err != nil {
		t.Fatalf("no secret named: %v %v", s, err)
	}
	var d *DPoP
	if d.SharedNonceSecret() {
		t.Fatal("nil block shares a secret")
	}
}
