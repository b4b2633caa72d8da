package postgres_test

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/identity/storetest"
	"github.com/gatehousehq/gatehouse/internal/pgtest"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

// TestSealedKeys runs the sealed-key cases on a schema of their own, whose
// signing_keys rows they read and write with SQL, past the store.
func TestSealedKeys(t *testing.T) {
	u := pgtest.URL(t)
	storetest.RunSealedKeys(t, func(t *testing.T) storetest.SealedKeys {
		schema := pgtest.Schema(t)
		table := pgx.Identifier{schema, "signing_keys"}.Sanitize()
		conn := func(t *testing.T) *pgx.Conn {
			t.Helper()
			c, err := pgx.Connect(t.Context(), u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close(t.Context()) })
			return c
		}
		return storetest.SealedKeys{
			Open: func(t *testing.T, s *keyseal.Sealer) (identity.Store, error) {
				cfg, err := pgxpool.ParseConfig(u)
				if err != nil {
					return nil, err
				}
				cfg.ConnConfig.RuntimeParams["search_path"] = schema
				if s == nil {
					return postgres.OpenConfig(t.Context(), cfg)
				}
				return postgres.OpenConfig(t.Context(), cfg, postgres.WithKeySealer(s))
			},
			RawJWK: func(t *testing.T, id string) []byte {
				var jwk []byte
				if err := conn(t).QueryRow(t.Context(), fmt.Sprintf(`SELECT jwk FROM %s WHERE id = $1`, table), id).Scan(&jwk); err != nil {
					t.Fatalf("SELECT jwk of %s: %v", id, err)
				}
				return jwk
			},
			SetRawJWK: func(t *testing.T, id string, jwk []byte) {
				tag, err := conn(t).Exec(t.Context(), fmt.Sprintf(`UPDATE %s SET jwk = $1 WHERE id = $2`, table), jwk, id)
				if err != nil || tag.RowsAffected() != 1 {
					t.Fatalf("UPDATE jwk of %s: %v rows, %v", id, tag.RowsAffected(), err)
				}
			},
		}
	})
}
