package authserver_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

// TestSealedSigningKeys: the server signs with keys sealed in its store,
// publishes the same key after a restart with the same secret, and does
// not start with another secret or none, naming the key.
func TestSealedSigningKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	start := func(secret string) (*authserver.Server, error) {
		t.Helper()
		var opts []sqlite.Option
		if secret != "" {
			s, err := keyseal.New([]byte(secret))
			if err != nil {
				t.Fatal(err)
			}
			opts = append(opts, sqlite.WithKeySealer(s))
		}
		st, err := sqlite.Open(t.Context(), path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return authserver.New(t.Context(), authserver.Config{Issuer: "http://127.0.0.1:9000", Store: st})
	}
	const a, b = "secret A of at least thirty-two bytes", "secret B of at least thirty-two bytes"
	first, err := start(a)
	if err != nil {
		t.Fatal(err)
	}
	kid := first.SigningKey().ID()
	again, err := start(a)
	if err != nil || again.SigningKey().ID() != kid || !again.SigningKey().CanSign() {
		t.Fatalf("restart with the same secret: %v, %v", again, err)
	}
	for name, secret := range map[string]string{"another secret": b, "no secret": ""} {
		_, err := start(secret)
		if !errors.Is(err, keyseal.ErrUnknownSecret) && !errors.Is(err, keyseal.ErrNoSecret) {
			t.Fatalf("%s: New = %v, want a refusal of the sealed key", name, err)
		}
		if !strings.Contains(err.Error(), "signing key "+kid+" ") || strings.Contains(err.Error(), a) || strings.Contains(err.Error(), b) {
			t.Errorf("%s: error %q does not name the key %s, or holds a secret", name, err, kid)
		}
	}
}
