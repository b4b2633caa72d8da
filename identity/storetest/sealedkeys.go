package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

// SealedKeys is what [RunSealedKeys] needs of an engine: one store, opened
// again and again with different key-encryption secrets, and its
// signing_keys rows read and written with SQL, past the store.
type SealedKeys struct {
	// Open opens the store, with the engine's WithKeySealer(sealer) when
	// sealer is not nil. The caller closes it.
	Open func(t *testing.T, sealer *keyseal.Sealer) (identity.Store, error)
	// RawJWK returns the jwk column of the key id, read with SQL.
	RawJWK func(t *testing.T, id string) []byte
	// SetRawJWK writes the jwk column of the key id with SQL.
	SetRawJWK func(t *testing.T, id string, jwk []byte)
}

// keyResealer is the ability of both engines to seal every key under the
// current secret (gatehouse keys reencrypt).
type keyResealer interface {
	ResealSigningKeys(ctx context.Context) (resealed []string, total int, err error)
}

// openSealer is the report of what Open sealed.
type openSealer interface{ SealedAtOpen() []string }

var (
	secretA = []byte("storetest secret A, at least 32 bytes long")
	secretB = []byte("storetest secret B, at least 32 bytes long")
	secretC = []byte("storetest secret C, at least 32 bytes long")
)

// RunSealedKeys runs the cases of signing keys sealed at rest against the
// stores newStore returns: a new, empty one for each case.
func RunSealedKeys(t *testing.T, newStore func(t *testing.T) SealedKeys) {
	sealer := func(t *testing.T, current []byte, previous ...[]byte) *keyseal.Sealer {
		t.Helper()
		s, err := keyseal.New(current, previous...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// open opens h's store with s; it is closed at the end of the test.
	open := func(t *testing.T, h SealedKeys, s *keyseal.Sealer) identity.Store {
		t.Helper()
		st, err := h.Open(t, s)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}

	t.Run("the stored JWK is sealed, not the private key", func(t *testing.T) {
		h := newStore(t)
		s := sealer(t, secretA)
		st := open(t, h, s)
		k1, d := realKey(t, "k1")
		must(t, "RotateSigningKey", st.RotateSigningKey(t.Context(), k1, k1.CreatedAt))

		raw := h.RawJWK(t, "k1")
		if bytes.Contains(raw, d) || bytes.Contains(raw, []byte(`"d"`)) || keyseal.IsClear(raw) {
			t.Fatalf("the row holds the private key: %q", raw)
		}
		if want := "v1:" + keyseal.Fingerprint(secretA) + ":"; !bytes.HasPrefix(raw, []byte(want)) {
			t.Errorf("the row %q does not start with %q", raw, want)
		}
		sameKeys(t, []identity.SigningKey{k1}, listKeys(t, st))
		sameKeys(t, []identity.SigningKey{k1}, listKeys(t, open(t, h, s))) // a second instance, or a restart
	})

	t.Run("a missing secret is refused, naming the key", func(t *testing.T) {
		h := newStore(t)
		k1, _ := realKey(t, "k1")
		must(t, "RotateSigningKey", open(t, h, sealer(t, secretA)).RotateSigningKey(t.Context(), k1, k1.CreatedAt))

		st := open(t, h, nil)
		_, err := st.ListSigningKeys(t.Context())
		wantKeyErr(t, "ListSigningKeys without a secret", err, keyseal.ErrNoSecret, "k1")
		// Nor does a process without the secret add a key in clear.
		k2, _ := realKey(t, "k2")
		err = st.RotateSigningKey(t.Context(), k2, k2.CreatedAt)
		wantKeyErr(t, "RotateSigningKey without a secret", err, keyseal.ErrNoSecret, "k1")
		sameKeys(t, []identity.SigningKey{k1}, listKeys(t, open(t, h, sealer(t, secretA))))
	})

	t.Run("a wrong secret is refused, naming the key", func(t *testing.T) {
		h := newStore(t)
		k1, _ := realKey(t, "k1")
		must(t, "RotateSigningKey", open(t, h, sealer(t, secretA)).RotateSigningKey(t.Context(), k1, k1.CreatedAt))

		_, err := open(t, h, sealer(t, secretB)).ListSigningKeys(t.Context())
		wantKeyErr(t, "ListSigningKeys with another secret", err, keyseal.ErrUnknownSecret, "k1")
		if !strings.Contains(err.Error(), keyseal.Fingerprint(secretA)) {
			t.Errorf("error %q does not name the fingerprint of the secret the key was sealed with", err)
		}
	})

	t.Run("a ciphertext copied to another key's row is refused", func(t *testing.T) {
		h := newStore(t)
		s := sealer(t, secretA)
		st := open(t, h, s)
		k1, _ := realKey(t, "k1")
		k2, _ := realKey(t, "k2")
		k2.CreatedAt, k2.SignFrom = k1.CreatedAt.Add(time.Millisecond), k1.CreatedAt.Add(time.Millisecond)
		must(t, "RotateSigningKey(k1)", st.RotateSigningKey(t.Context(), k1, k1.CreatedAt))
		must(t, "RotateSigningKey(k2)", st.RotateSigningKey(t.Context(), k2, k2.CreatedAt))

		// Whoever can write the table, not read the secret, makes k2 hold
		// k1's private key: the key id is authenticated.
		saved := h.RawJWK(t, "k2")
		h.SetRawJWK(t, "k2", h.RawJWK(t, "k1"))
		_, err := st.ListSigningKeys(t.Context())
		wantKeyErr(t, "ListSigningKeys with k1's ciphertext in k2's row", err, keyseal.ErrNotAuthentic, "k2")

		// An altered value is refused the same way.
		altered := bytes.Clone(saved)
		altered[len(altered)-2] ^= 'A' ^ 'B'
		h.SetRawJWK(t, "k2", altered)
		_, err = st.ListSigningKeys(t.Context())
		if !errors.Is(err, keyseal.ErrNotAuthentic) && !errors.Is(err, keyseal.ErrMalformed) {
			t.Fatalf("ListSigningKeys with an altered row: %v, want a refusal", err)
		}
		// So is a key planted in clear: only a process without the secret
		// writes one.
		planted, _ := realKey(t, "k2")
		h.SetRawJWK(t, "k2", planted.JWK)
		_, err = st.ListSigningKeys(t.Context())
		wantKeyErr(t, "ListSigningKeys with a clear row", err, keyseal.ErrClear, "k2")

		h.SetRawJWK(t, "k2", saved)
		sameKeys(t, []identity.SigningKey{k2, retired(k1, k2.SignFrom)}, listKeys(t, st))
	})

	t.Run("a store of clear keys is sealed at its first open with a secret", func(t *testing.T) {
		h := newStore(t)
		clear := open(t, h, nil)
		k1, d1 := realKey(t, "k1")
		k2, d2 := realKey(t, "k2")
		k2.CreatedAt, k2.SignFrom = k1.CreatedAt.Add(time.Millisecond), k1.CreatedAt.Add(time.Millisecond)
		must(t, "RotateSigningKey(k1)", clear.RotateSigningKey(t.Context(), k1, k1.CreatedAt))
		must(t, "RotateSigningKey(k2)", clear.RotateSigningKey(t.Context(), k2, k2.CreatedAt))
		if raw := h.RawJWK(t, "k1"); !bytes.Equal(raw, k1.JWK) {
			t.Fatalf("without a secret the row holds %q, want the JWK in clear", raw)
		}
		if ids := clear.(openSealer).SealedAtOpen(); len(ids) != 0 {
			t.Errorf("Open without a secret sealed %v", ids)
		}
		clear.Close()

		s := sealer(t, secretA)
		st := open(t, h, s)
		if ids := st.(openSealer).SealedAtOpen(); !slices.Equal(ids, []string{"k1", "k2"}) {
			t.Errorf("SealedAtOpen = %v, want [k1 k2]", ids)
		}
		for id, d := range map[string][]byte{"k1": d1, "k2": d2} {
			if raw := h.RawJWK(t, id); bytes.Contains(raw, d) || keyseal.FingerprintOf(raw) != s.Fingerprint() {
				t.Errorf("after the migration the row of %s holds %q", id, raw)
			}
		}
		want := []identity.SigningKey{k2, retired(k1, k2.SignFrom)}
		sameKeys(t, want, listKeys(t, st))

		again := open(t, h, s)
		if ids := again.(openSealer).SealedAtOpen(); len(ids) != 0 {
			t.Errorf("a second Open sealed %v again", ids)
		}
		sameKeys(t, want, listKeys(t, again))
	})

	t.Run("instances opening a clear store together seal each key once", func(t *testing.T) {
		h := newStore(t)
		clear := open(t, h, nil)
		var want []identity.SigningKey
		for i, id := range []string{"k1", "k2", "k3"} {
			k, _ := realKey(t, id)
			k.CreatedAt = k.CreatedAt.Add(time.Duration(i) * time.Millisecond)
			k.SignFrom = k.CreatedAt
			must(t, "RotateSigningKey", clear.RotateSigningKey(t.Context(), k, k.CreatedAt))
			if len(want) > 0 {
				want[0] = retired(want[0], k.SignFrom)
			}
			want = append([]identity.SigningKey{k}, want...)
		}
		clear.Close()
		s := sealer(t, secretA)
		stores := make([]identity.Store, 4)
		errs := race(len(stores), func(i int) error {
			var err error
			stores[i], err = h.Open(t, s)
			return err
		})
		sealed := 0
		for i, err := range errs {
			must(t, "Open", err)
			defer stores[i].Close()
			sealed += len(stores[i].(openSealer).SealedAtOpen())
		}
		if sealed != 3 {
			t.Errorf("the instances sealed %d keys between them, want 3, each once", sealed)
		}
		sameKeys(t, want, listKeys(t, stores[0]))
	})

	t.Run("rotation of the secret: old as previous, reseal, old removed", func(t *testing.T) {
		h := newStore(t)
		k1, _ := realKey(t, "k1")
		k2, _ := realKey(t, "k2")
		k2.CreatedAt, k2.SignFrom = k1.CreatedAt.Add(time.Millisecond), k1.CreatedAt.Add(time.Millisecond)
		old := open(t, h, sealer(t, secretA))
		must(t, "RotateSigningKey(k1)", old.RotateSigningKey(t.Context(), k1, k1.CreatedAt))
		want := []identity.SigningKey{k1}

		// The new secret seals from now on; the old one still opens.
		rotating := open(t, h, sealer(t, secretB, secretA))
		sameKeys(t, want, listKeys(t, rotating))
		must(t, "RotateSigningKey(k2)", rotating.RotateSigningKey(t.Context(), k2, k2.CreatedAt))
		want = []identity.SigningKey{k2, retired(k1, k2.SignFrom)}
		if fp := keyseal.FingerprintOf(h.RawJWK(t, "k2")); fp != keyseal.Fingerprint(secretB) {
			t.Errorf("a key added during the rotation is sealed under %s, want the new secret %s", fp, keyseal.Fingerprint(secretB))
		}

		resealed, total, err := rotating.(keyResealer).ResealSigningKeys(t.Context())
		must(t, "ResealSigningKeys", err)
		if !slices.Equal(resealed, []string{"k1"}) || total != 2 {
			t.Errorf("ResealSigningKeys = %v of %d, want [k1] of 2", resealed, total)
		}
		for _, id := range []string{"k1", "k2"} {
			if fp := keyseal.FingerprintOf(h.RawJWK(t, id)); fp != keyseal.Fingerprint(secretB) {
				t.Errorf("after the reseal %s is sealed under %s, want %s", id, fp, keyseal.Fingerprint(secretB))
			}
		}
		resealed, _, err = rotating.(keyResealer).ResealSigningKeys(t.Context())
		if err != nil || len(resealed) != 0 {
			t.Errorf("a second ResealSigningKeys = %v, %v; want nothing to do", resealed, err)
		}

		// The old secret removed: the new one alone opens every key, the
		// old one alone none.
		sameKeys(t, want, listKeys(t, open(t, h, sealer(t, secretB))))
		_, err = open(t, h, sealer(t, secretA)).ListSigningKeys(t.Context())
		wantKeyErr(t, "ListSigningKeys with the old secret only", err, keyseal.ErrUnknownSecret, "k2") // listed first
	})

	t.Run("a reseal that meets a key it cannot open changes nothing", func(t *testing.T) {
		h := newStore(t)
		k1, _ := realKey(t, "k1")
		k2, _ := realKey(t, "k2")
		k2.CreatedAt, k2.SignFrom = k1.CreatedAt.Add(time.Millisecond), k1.CreatedAt.Add(time.Millisecond)
		must(t, "RotateSigningKey(k1)", open(t, h, sealer(t, secretA)).RotateSigningKey(t.Context(), k1, k1.CreatedAt))
		must(t, "RotateSigningKey(k2)", open(t, h, sealer(t, secretC, secretA)).RotateSigningKey(t.Context(), k2, k2.CreatedAt))
		before := h.RawJWK(t, "k1")

		// B current, A previous: k1 would be resealed, but k2 (under C)
		// fails the transaction.
		_, _, err := open(t, h, sealer(t, secretB, secretA)).(keyResealer).ResealSigningKeys(t.Context())
		wantKeyErr(t, "ResealSigningKeys", err, keyseal.ErrUnknownSecret, "k2")
		if after := h.RawJWK(t, "k1"); !bytes.Equal(after, before) {
			t.Errorf("a failed reseal rewrote k1: %q, was %q", after, before)
		}
	})

	t.Run("ResealSigningKeys needs a secret", func(t *testing.T) {
		h := newStore(t)
		if _, _, err := open(t, h, nil).(keyResealer).ResealSigningKeys(t.Context()); err == nil {
			t.Error("ResealSigningKeys without a secret succeeded")
		}
	})
}

// realKey returns a stored form of a new ES256 key: its private JWK, and
// the private scalar as the JWK writes it (to look for in rows).
func realKey(t *testing.T, id string) (identity.SigningKey, []byte) {
	t.Helper()
	k, err := keys.Generate(keys.ES256, keys.WithID(id))
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := k.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ D string }
	if err := json.Unmarshal(jwk, &m); err != nil || m.D == "" {
		t.Fatalf("private JWK without d: %v", err)
	}
	at := now()
	return identity.SigningKey{ID: id, JWK: jwk, CreatedAt: at, SignFrom: at}, []byte(m.D)
}

func retired(k identity.SigningKey, at time.Time) identity.SigningKey {
	k.RetiredAt = at
	return k
}

// wantKeyErr fails the test unless err is want and names the key id (and
// holds none of the test secrets).
func wantKeyErr(t *testing.T, what string, err, want error, id string) {
	t.Helper()
	var se *keyseal.Error
	switch {
	case !errors.Is(err, want):
		t.Fatalf("%s: error %v, want %v", what, err, want)
	case !errors.As(err, &se) || se.KeyID != id || !strings.Contains(err.Error(), "signing key "+id+" "):
		t.Fatalf("%s: error %q does not name the key %s", what, err, id)
	}
	for _, s := range [][]byte{secretA, secretB, secretC} {
		if strings.Contains(err.Error(), string(s)) {
			t.Fatalf("%s: error %q holds a secret", what, err)
		}
	}
}
