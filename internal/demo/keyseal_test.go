package demo

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

// The demo seals the signing keys of its store with a secret of its own,
// kept in its data folder (0600) and reused at the next start; a demo store
// from before, with keys in clear, is sealed at its next start and keeps
// its keys.
func TestDemoSealsItsSigningKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	startDemo(t, Config{Data: dir}).Close()

	file := KeySecretFile(dir)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, fi.Mode().Perm())
	}
	secret, err := os.ReadFile(file)
	if err != nil || keyseal.CheckSecret(bytes.TrimSpace(secret)) != nil {
		t.Fatalf("the demo's key secret: %d bytes, %v", len(secret), err)
	}
	fp := keyseal.Fingerprint(bytes.TrimSpace(secret))

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "gatehouse.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := func() map[string][]byte {
		t.Helper()
		r, err := db.QueryContext(t.Context(), `SELECT id, jwk FROM signing_keys`)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		out := map[string][]byte{}
		for r.Next() {
			var id string
			var jwk []byte
			if err := r.Scan(&id, &jwk); err != nil {
				t.Fatal(err)
			}
			out[id] = jwk
		}
		return out
	}
	sealedRows := rows()
	if len(sealedRows) == 0 {
		t.Fatal("the demo stored no signing key")
	}
	for id, jwk := range sealedRows {
		if keyseal.FingerprintOf(jwk) != fp || bytes.Contains(jwk, []byte(`"d"`)) {
			t.Errorf("key %s is stored as %.40q…, want sealed under the demo's secret %s", id, jwk, fp)
		}
	}

	// A demo folder from before: the same keys, in clear.
	sealer, err := keyseal.New(bytes.TrimSpace(secret))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "gatehouse.db"), sqlite.WithKeySealer(sealer))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := st.ListSigningKeys(t.Context())
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if _, err := db.ExecContext(t.Context(), `UPDATE signing_keys SET jwk = ? WHERE id = ?`, k.JWK, k.ID); err != nil {
			t.Fatal(err)
		}
	}
	env := startDemo(t, Config{Data: dir})
	for id, jwk := range rows() {
		if keyseal.FingerprintOf(jwk) != fp {
			t.Errorf("after a start on clear keys, key %s is stored as %.40q…, want sealed", id, jwk)
		}
		if _, ok := sealedRows[id]; !ok {
			t.Errorf("key %s is new: the demo did not keep its keys", id)
		}
	}
	if env.NewSecrets {
		t.Error("the second start generated secrets again")
	}
	env.Close()

	// The secret file deleted: the demo makes a new secret and replaces
	// the keys it no longer opens.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	startDemo(t, Config{Data: dir})
	secret, err = os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	newFP := keyseal.Fingerprint(bytes.TrimSpace(secret))
	after := rows()
	if len(after) != 1 {
		t.Errorf("after a new secret the store holds %d keys, want the new one only", len(after))
	}
	for id, jwk := range after {
		if _, old := sealedRows[id]; old || keyseal.FingerprintOf(jwk) != newFP {
			t.Errorf("after a new secret key %s (old: %v) is sealed under %s, want a new key under %s", id, old, keyseal.FingerprintOf(jwk), newFP)
		}
	}
}
