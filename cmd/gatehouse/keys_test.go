package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/keys"
)

func TestKeysGenerate(t *testing.T) {
	tests := []struct {
		alg   keys.Algorithm
		extra []string
	}{
		{keys.ES256, nil},
		{keys.EdDSA, []string{"--kid", "ed-2025"}},
		{keys.RS256, nil},
		{keys.PS256, []string{"--bits", "3072"}},
		{keys.HS256, nil},
	}
	for _, tc := range tests {
		t.Run(string(tc.alg), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.jwk")
			r := gh(t, "", append([]string{"keys", "generate", "--alg", string(tc.alg), "--out", path}, tc.extra...)...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("key file mode %o, want 600", mode)
			}
			k, err := keys.LoadKey(path)
			if err != nil {
				t.Fatal(err)
			}
			if k.Algorithm() != tc.alg || !k.CanSign() {
				t.Errorf("file holds %s (can sign: %v), want a private %s key", k.Algorithm(), k.CanSign(), tc.alg)
			}
			if len(tc.extra) == 2 && tc.extra[0] == "--kid" && k.ID() != tc.extra[1] {
				t.Errorf("kid %q, want %q", k.ID(), tc.extra[1])
			}
			if !strings.Contains(r.stdout, string(tc.alg)) || !strings.Contains(r.stdout, "kid="+k.ID()) {
				t.Errorf("confirmation %q does not name the algorithm and kid", r.stdout)
			}
			data, _ := os.ReadFile(path)
			if strings.Contains(r.stdout+r.stderr, `"d"`) || strings.Contains(r.stdout+r.stderr, string(bytes.TrimSpace(data))) {
				t.Errorf("the private key was printed: %q", r.stdout+r.stderr)
			}
		})
	}
}

func TestKeysGenerateRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := genKey(t, dir, "key.jwk", keys.ES256)
	before, _ := os.ReadFile(path)

	r := gh(t, "", "keys", "generate", "--out", path)
	if r.code != exitUsage {
		t.Fatalf("second generate: exit %d, want 2", r.code)
	}
	assertOneLine(t, r.stderr)
	if !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("stderr %q does not say the file exists and how to replace it", r.stderr)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the existing key file changed")
	}

	mustGH(t, "", "keys", "generate", "--out", path, "--force")
	after, _ := os.ReadFile(path)
	if bytes.Equal(before, after) {
		t.Error("--force did not replace the key")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced key file mode %o, want 600", fi.Mode().Perm())
	}
}

func TestKeysGenerateUsageErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "key.jwk")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing --out", []string{}, `required flag(s) "out" not set`},
		{"--out stdout", []string{"--out", "-"}, "private keys are never printed"},
		{"unknown algorithm", []string{"--out", out, "--alg", "HS512"}, "--alg \"HS512\" is not supported"},
		{"algorithm case", []string{"--out", out, "--alg", "es256"}, "is not supported"},
		{"weak RSA", []string{"--out", out, "--alg", "RS256", "--bits", "1024"}, "at least 2048 bits"},
		{"bits for EC", []string{"--out", out, "--bits", "4096"}, "--bits applies to RS256 and PS256 only"},
		{"bits not a number", []string{"--out", out, "--alg", "RS256", "--bits", "many"}, "--bits"},
		{"missing directory", []string{"--out", filepath.Join(dir, "no", "such", "key.jwk")}, "cannot write"},
		{"positional argument", []string{"--out", out, "extra"}, `takes no arguments, got "extra"`},
		{"unknown flag", []string{"--out", out, "--size", "2"}, "unknown flag: --size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gh(t, "", append([]string{"keys", "generate"}, tc.args...)...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			assertOneLine(t, r.stderr)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a key file was written")
			}
		})
	}
}

func TestKeysJWKS(t *testing.T) {
	dir := t.TempDir()
	es := genKey(t, dir, "es.jwk", keys.ES256)
	ed := genKey(t, dir, "ed.jwk", keys.EdDSA)
	rs := genKey(t, dir, "rs.jwk", keys.RS256)
	ps := genKey(t, dir, "ps.jwk", keys.PS256, "--kid", "ps-1")
	pemKey := writePEMKey(t, dir, "server.pem")

	out := mustGH(t, "", "keys", "jwks", es, ed, rs, ps, pemKey, es) // es twice: listed once
	set := decodeJSON(t, out)
	list, ok := set["keys"].([]any)
	if !ok || len(list) != 5 {
		t.Fatalf("want 5 keys, got %v", set["keys"])
	}
	for _, k := range list {
		m := k.(map[string]any)
		for _, private := range []string{"d", "k", "p", "q", "dp", "dq", "qi"} {
			if _, ok := m[private]; ok {
				t.Errorf("key %v has private member %q", m["kid"], private)
			}
		}
	}
	parsed, err := keys.ParseJWKS([]byte(out))
	if err != nil {
		t.Fatalf("output is not a JWKS that keys.ParseJWKS accepts: %v", err)
	}
	algs := map[keys.Algorithm]int{}
	for _, k := range parsed {
		algs[k.Algorithm()]++
		if k.CanSign() {
			t.Errorf("key %s can sign: private material was published", k.ID())
		}
	}
	if algs[keys.ES256] != 2 || algs[keys.EdDSA] != 1 || algs[keys.RS256] != 1 || algs[keys.PS256] != 1 {
		t.Errorf("algorithms %v, want ES256×2, EdDSA, RS256, PS256", algs)
	}
	if !strings.Contains(out, `"kid": "ps-1"`) {
		t.Error("the kid given to generate is not in the JWKS")
	}
}

func TestKeysJWKSUsageErrors(t *testing.T) {
	dir := t.TempDir()
	hs := genKey(t, dir, "secret.jwk", keys.HS256)
	es := genKey(t, dir, "es.jwk", keys.ES256, "--kid", "same")
	ed := genKey(t, dir, "ed.jwk", keys.EdDSA, "--kid", "same")
	garbage := filepath.Join(dir, "garbage.txt")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret, _ := os.ReadFile(hs)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"HS256", []string{hs}, "shared secrets have no public form"},
		{"HS256 among others", []string{es, hs}, "shared secrets have no public form"},
		{"no files", nil, "no key file given"},
		{"missing file", []string{filepath.Join(dir, "missing.jwk")}, "no such file"},
		{"not a key", []string{garbage}, "not a JWK, JWKS or PEM"},
		{"kid clash", []string{es, ed}, "kid same names different keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gh(t, "", append([]string{"keys", "jwks"}, tc.args...)...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr %q", r.code, r.stderr)
			}
			assertOneLine(t, r.stderr)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if k := decodeJSON(t, string(secret))["k"].(string); strings.Contains(r.stderr, k) {
				t.Error("the shared secret was printed")
			}
		})
	}
}
