package keys_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehousehq/gatehouse/keys"
)

// Every source is a keys.Source.
var (
	_ keys.Source = (*keys.Static)(nil)
	_ keys.Source = (*keys.Set)(nil)
	_ keys.Source = (*keys.Remote)(nil)
)

func TestStatic(t *testing.T) {
	ctx := context.Background()
	es, ed, hs := newKeyCached(t, keys.ES256, "es"), newKeyCached(t, keys.EdDSA, "ed"), newKeyCached(t, keys.HS256, "hs")

	t.Run("only key", func(t *testing.T) {
		s, err := keys.NewStatic(es)
		if err != nil {
			t.Fatal(err)
		}
		for _, kid := range []string{"", "es"} {
			k, err := s.Key(ctx, kid)
			if err != nil || !k.SameKey(es) || k.ID() != "es" {
				t.Errorf("Key(%q) = %v, %v", kid, k, err)
			}
		}
		if _, err := s.Key(ctx, "ed"); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Errorf("Key(unknown) = %v, want ErrKeyNotFound", err)
		}
	})
	t.Run("several keys", func(t *testing.T) {
		s, err := keys.NewStatic(es, ed, hs)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []*keys.Key{es, ed, hs} {
			k, err := s.Key(ctx, want.ID())
			if err != nil || !k.SameKey(want) {
				t.Errorf("Key(%q) = %v, %v", want.ID(), k, err)
				continue
			}
			// Private parts are dropped; an HS256 secret is what verifies.
			if k.CanSign() != want.Algorithm().Symmetric() {
				t.Errorf("Key(%q).CanSign() = %v", want.ID(), k.CanSign())
			}
			sig := must[[]byte](t)(want.Sign(signingInput))
			if err := k.Verify([]byte(signingInput), sig); err != nil {
				t.Errorf("Key(%q) does not verify: %v", want.ID(), err)
			}
		}
		for _, kid := range []string{"", "unknown", es.Thumbprint()} {
			if _, err := s.Key(ctx, kid); !errors.Is(err, keys.ErrKeyNotFound) {
				t.Errorf("Key(%q) = %v, want ErrKeyNotFound", kid, err)
			}
		}
		if n := len(s.Keys()); n != 3 {
			t.Errorf("Keys() has %d keys, want 3", n)
		}
		for _, k := range s.Keys() {
			if k.CanSign() && !k.Algorithm().Symmetric() {
				t.Errorf("Keys() holds private key %v", k)
			}
		}
	})
	t.Run("the caller's key keeps its private part", func(t *testing.T) {
		if _, err := keys.NewStatic(es); err != nil {
			t.Fatal(err)
		}
		if !es.CanSign() {
			t.Error("NewStatic changed the key it was given")
		}
	})

	refusals := []struct {
		name  string
		ks    []*keys.Key
		parts []string
	}{
		{"no keys", nil, []string{"at least one"}},
		{"nil key", []*keys.Key{es, nil}, []string{"nil"}},
		{"duplicate kid", []*keys.Key{es, newKeyCached(t, keys.EdDSA, "es")}, []string{`"es"`, "twice"}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keys.NewStatic(tt.ks...)
			wantErr(t, err, tt.parts...)
		})
	}
}
