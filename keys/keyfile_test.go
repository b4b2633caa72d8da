package keys_test

// Key files: Save writes a new one (never over an existing path), Replace
// swaps one in place, and Load and LoadKey read them back within their
// limits.

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehousehq/gatehouse/keys"
)

func TestSaveLoad(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "key.jwk")
			k := testKey(t, alg)
			if err := keys.Save(path, k); err != nil {
				t.Fatalf("Save: %v", err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("mode %v, want 0600", mode)
			}
			got, err := keys.LoadKey(path)
			if err != nil {
				t.Fatalf("LoadKey: %v", err)
			}
			if !got.SameKey(k) || got.ID() != k.ID() || !got.CanSign() {
				t.Errorf("LoadKey gave %v, want %v", got, k)
			}

			// Save never overwrites, and leaves the file as it was.
			before, _ := os.ReadFile(path)
			next := newKey(t, alg, "next")
			if err := keys.Save(path, next); !errors.Is(err, fs.ErrExist) {
				t.Errorf("Save over an existing file = %v, want fs.ErrExist", err)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Error("a refused Save changed the file")
			}

			// Replace does, keeping mode 0600 and no temporary file.
			if err := keys.Replace(path, next); err != nil {
				t.Fatalf("Replace: %v", err)
			}
			got, err = keys.LoadKey(path)
			if err != nil {
				t.Fatalf("LoadKey after Replace: %v", err)
			}
			if !got.SameKey(next) || got.ID() != "next" {
				t.Errorf("after Replace LoadKey gave %v, want %v", got, next)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode after Replace %v, want 0600", fi.Mode().Perm())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the key file", len(entries))
			}
		})
	}
}

func TestSaveRefusals(t *testing.T) {
	dir := t.TempDir()
	// A dangling symlink is an existing path: Save must not follow it.
	link := filepath.Join(dir, "link.jwk")
	if err := os.Symlink(filepath.Join(dir, "target.jwk"), link); err != nil {
		t.Skip(err)
	}
	if err := keys.Save(link, testKey(t, keys.ES256)); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Save over a dangling symlink = %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "target.jwk")); err == nil {
		t.Error("Save wrote through a symlink")
	}
	// A public key has nothing to save.
	err := keys.Save(filepath.Join(dir, "pub.jwk"), testKey(t, keys.ES256).PublicKey())
	if !errors.Is(err, keys.ErrNoPrivateKey) {
		t.Errorf("Save(public key) = %v, want ErrNoPrivateKey", err)
	}
}

// A kid is free text: one that names a JWKS member must still load as a JWK.
func TestSaveLoadKidKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.jwk")
	k := newKey(t, keys.ES256, "keys")
	if err := keys.Save(path, k); err != nil {
		t.Fatal(err)
	}
	got, err := keys.LoadKey(path)
	if err != nil {
		t.Fatalf("LoadKey: %v", err)
	}
	if got.ID() != "keys" || !got.SameKey(k) {
		t.Errorf("LoadKey gave %v", got)
	}
}

func TestLoadLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, keys.MaxKeyFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := keys.Load(big)
	wantErr(t, err, "larger than")

	two := filepath.Join(dir, "two.jwks")
	if err := os.WriteFile(two, privateJWKS(t, newKey(t, keys.ES256, "a"), newKey(t, keys.EdDSA, "b")), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Load(two)
	if err != nil || len(ks) != 2 || !ks[0].CanSign() {
		t.Fatalf("Load(private JWKS) = %v, %v", ks, err)
	}
	_, err = keys.LoadKey(two)
	wantErr(t, err, "2 keys")

	_, err = keys.Load(filepath.Join(dir, "missing"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
	_, err = keys.Parse([]byte("hello"))
	wantErr(t, err, "not a JWK, JWKS or PEM")
	_, err = keys.Parse(privateJWKS(t, testKey(t, keys.ES256)), keys.WithID("x"))
	wantErr(t, err, "PEM only")
}

// privateJWKS is a JWK Set of the private JWKs of ks, as a key file may hold.
func privateJWKS(t testing.TB, ks ...*keys.Key) []byte {
	t.Helper()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	for _, k := range ks {
		b, err := k.PrivateJWK()
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, b)
	}
	out, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
