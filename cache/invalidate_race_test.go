package cache

import (
	"context"
	"errors"
	"testing"
)

// slowInv runs before ahead of the shared-tier invalidation, as a Redis
// round trip leaves a window there.
type slowInv struct {
	*Memory
	before func()
	err    error
}

func (s *slowInv) invalidate(ctx context.Context, name, origin string, keys []string) error {
	if s.before != nil {
		s.before()
	}
	if err := s.Memory.invalidate(ctx, name, origin, keys); err != nil {
		return err
	}
	return s.err
}

// A Get of the invalidating cache while the shared tier still holds the old
// value must not leave that value in the local tier once Invalidate returns.
func TestInvalidateDropsWhatAGetKeptDuringTheSharedInvalidation(t *testing.T) {
	for _, fail := range []bool{false, true} {
		m, err := NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		b := &slowInv{Memory: m}
		if fail {
			b.err = errors.New("shared tier down")
		}
		c, err := New[string]("u", b)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		src := "old"
		load := func(context.Context) (string, error) { return src, nil }
		if v, _ := c.Get(ctx, "k", load); v != "old" {
			t.Fatal(v)
		}
		src = "new"
		b.before = func() {
			if v, _ := c.Get(ctx, "k", load); v != "old" {
				t.Fatalf("Get during the shared invalidation: %q, want the shared tier's old value", v)
			}
		}
		err = c.Invalidate(ctx, "k")
		if fail != (err != nil) {
			t.Fatalf("fail %v: Invalidate: %v", fail, err)
		}
		b.before = nil
		if v, _ := c.Get(ctx, "k", load); v != "new" {
			t.Fatalf("fail %v: after Invalidate, Get = %q, want %q", fail, v, "new")
		}
		if got := c.Stats().Invalidations; got != 1 {
			t.Fatalf("Invalidations = %d, want 1", got)
		}
		c.Close()
	}
}
