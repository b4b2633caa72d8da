package keys_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// kidsOf returns the kids of a JWK Set, checking it is public.
func kidsOf(t *testing.T, jwks func() ([]byte, error)) []string {
	t.Helper()
	b, err := jwks()
	if err != nil {
		t.Fatal(err)
	}
	return assertPublicJWKS(t, b)
}

func TestSetRotation(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	const retention = time.Hour
	a, b, c := newKeyCached(t, keys.ES256, "a"), newKeyCached(t, keys.EdDSA, "b"), newKeyCached(t, keys.ES256, "c")
	set, err := keys.NewSet(a, retention, keys.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(kid string) error {
		t.Helper()
		k, err := set.Key(ctx, kid)
		if err == nil && k.ID() != kid {
			t.Fatalf("Key(%q) returned %v", kid, k)
		}
		return err
	}
	wantKids := func(want ...string) {
		t.Helper()
		if got := kidsOf(t, set.JWKS); !slices.Equal(got, want) {
			t.Errorf("JWKS kids %v, want %v", got, want)
		}
		var got []string
		for _, k := range set.Keys() {
			got = append(got, k.ID())
		}
		if !slices.Equal(got, want) {
			t.Errorf("Keys() kids %v, want %v", got, want)
		}
	}

	if set.SigningKey() != a || lookup("a") != nil {
		t.Fatal("the first key is not active")
	}
	wantKids("a")

	if err := set.Rotate(b); err != nil {
		t.Fatal(err)
	}
	if set.SigningKey() != b {
		t.Fatal("Rotate did not make b active")
	}
	wantKids("b", "a")

	clk.Advance(30 * time.Minute)
	if err := set.Rotate(c); err != nil {
		t.Fatal(err)
	}
	wantKids("c", "b", "a") // newest first
	if lookup("a") != nil || lookup("b") != nil || lookup("c") != nil {
		t.Fatal("a retained key does not resolve")
	}

	// a was retired an hour ago: gone; b, retired 30 minutes ago, stays.
	clk.Advance(30*time.Minute - time.Nanosecond)
	if err := lookup("a"); err != nil {
		t.Fatalf("a is gone before its retention passed: %v", err)
	}
	clk.Advance(time.Nanosecond)
	if err := lookup("a"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("Key(a) after retention = %v, want ErrKeyNotFound", err)
	}
	wantKids("c", "b")
	clk.Advance(30 * time.Minute)
	if err := lookup("b"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("Key(b) after retention = %v, want ErrKeyNotFound", err)
	}
	wantKids("c")
	if err := lookup("c"); err != nil {
		t.Fatalf("the active key does not resolve: %v", err)
	}
	if err := lookup("never"); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Key(unknown) = %v, want ErrKeyNotFound", err)
	}
	if err := lookup(""); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf(`Key("") = %v, want ErrKeyNotFound`, err)
	}
}

// A key whose retention has passed has left the set: it may come back.
func TestSetRotateBackAfterRetention(t *testing.T) {
	clk := newClock()
	a, b := newKeyCached(t, keys.ES256, "a"), newKeyCached(t, keys.ES256, "b")
	set, err := keys.NewSet(a, time.Hour, keys.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Rotate(b); err != nil {
		t.Fatal(err)
	}
	if err := set.Rotate(a); err == nil {
		t.Fatal("Rotate to a retained kid succeeded")
	}
	clk.Advance(time.Hour)
	if err := set.Rotate(a); err != nil {
		t.Fatalf("Rotate to a kid that left the set: %v", err)
	}
	if got := kidsOf(t, set.JWKS); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("kids %v, want [a b]", got)
	}
}

func TestSetRefusals(t *testing.T) {
	a, b := newKeyCached(t, keys.ES256, "a"), newKeyCached(t, keys.ES256, "b")
	tests := []struct {
		name  string
		do    func() error
		parts []string
	}{
		{"NewSet with a public key", func() error { _, err := keys.NewSet(a.PublicKey(), time.Hour); return err }, []string{"private part"}},
		{"NewSet with nil", func() error { _, err := keys.NewSet(nil, time.Hour); return err }, []string{"private part"}},
		{"NewSet without retention", func() error { _, err := keys.NewSet(a, 0); return err }, []string{"retention"}},
		{"NewSet with negative retention", func() error { _, err := keys.NewSet(a, -time.Second); return err }, []string{"retention"}},
		{"NewSet with a nil clock", func() error { _, err := keys.NewSet(a, time.Hour, keys.WithClock(nil)); return err }, []string{"nil clock"}},
		{"Rotate to the active kid", func() error { return newSet(t, a).Rotate(a) }, []string{`"a"`, "already"}},
		{"Rotate to another key with the active kid", func() error {
			return newSet(t, a).Rotate(newKeyCached(t, keys.EdDSA, "a"))
		}, []string{`"a"`, "already"}},
		{"Rotate to a retained kid", func() error {
			s := newSet(t, a)
			if err := s.Rotate(b); err != nil {
				return nil
			}
			return s.Rotate(a)
		}, []string{`"a"`, "already"}},
		{"Rotate to a public key", func() error { return newSet(t, a).Rotate(b.PublicKey()) }, []string{"private part"}},
		{"Rotate to nil", func() error { return newSet(t, a).Rotate(nil) }, []string{"private part"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.do(), tt.parts...)
		})
	}

	// A refused Rotate leaves the set as it was.
	s := newSet(t, a)
	_ = s.Rotate(b.PublicKey())
	if s.SigningKey() != a || len(s.Keys()) != 1 {
		t.Errorf("a refused Rotate changed the set: %v", s.Keys())
	}
}

func newSet(t *testing.T, active *keys.Key) *keys.Set {
	t.Helper()
	s, err := keys.NewSet(active, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Rotation while verifiers look keys up; run with -race.
func TestSetConcurrent(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	first := newKeyCached(t, keys.ES256, "k0")
	set, err := keys.NewSet(first, time.Hour, keys.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	next := make([]*keys.Key, 5)
	for i := range next {
		next[i] = newKeyCached(t, keys.EdDSA, "k"+string(rune('1'+i)))
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				active := set.SigningKey()
				if _, err := set.Key(ctx, active.ID()); err != nil {
					t.Errorf("active key %s not found: %v", active.ID(), err)
					return
				}
				if _, err := set.JWKS(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for _, k := range next {
		if err := set.Rotate(k); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	wg.Wait()
	if _, err := set.Key(ctx, "k0"); err != nil {
		t.Errorf("k0 within retention: %v", err)
	}
}
