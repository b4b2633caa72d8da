package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/identity/storetest"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

// TestSealedKeys runs the sealed-key cases on a file of their own, whose
// signing_keys rows they read and write with SQL, past the store.
func TestSealedKeys(t *testing.T) {
	storetest.RunSealedKeys(t, func(t *testing.T) storetest.SealedKeys {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		raw := func(t *testing.T) *sql.DB {
			t.Helper()
			db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		return storetest.SealedKeys{
			Open: func(t *testing.T, s *keyseal.Sealer) (identity.Store, error) {
				if s == nil {
					return sqlite.Open(t.Context(), path)
				}
				return sqlite.Open(t.Context(), path, sqlite.WithKeySealer(s))
			},
			RawJWK: func(t *testing.T, id string) []byte {
				var jwk []byte
				if err := raw(t).QueryRowContext(t.Context(), `SELECT jwk FROM signing_keys WHERE id = ?`, id).Scan(&jwk); err != nil {
					t.Fatalf("SELECT jwk of %s: %v", id, err)
				}
				return jwk
			},
			SetRawJWK: func(t *testing.T, id string, jwk []byte) {
				res, err := raw(t).ExecContext(t.Context(), `UPDATE signing_keys SET jwk = ? WHERE id = ?`, jwk, id)
				if n, _ := res.RowsAffected(); err != nil || n != 1 {
					t.Fatalf("UPDATE jwk of %s: %d rows, %v", id, n, err)
				}
			},
		}
	})
}
