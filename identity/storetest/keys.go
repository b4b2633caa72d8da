package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

func newKey(id string, at time.Time) identity.SigningKey {
	return identity.SigningKey{
		ID:        id,
		JWK:       fmt.Appendf(nil, `{"kty":"EC","crv":"P-256","kid":%q,"x":"x","y":"y","d":"d"}`, id),
		CreatedAt: at,
		SignFrom:  at,
	}
}

func listKeys(t *testing.T, s identity.Store) []identity.SigningKey {
	t.Helper()
	list, err := s.ListSigningKeys(t.Context())
	must(t, "ListSigningKeys", err)
	return list
}

func sameKeys(t *testing.T, want, got []identity.SigningKey) {
	t.Helper()
	ids := func(l []identity.SigningKey) []string {
		var out []string
		for _, k := range l {
			out = append(out, k.ID)
		}
		return out
	}
	if fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
		t.Fatalf("ListSigningKeys = %v, want %v", ids(got), ids(want))
	}
	for i := range want {
		same(t, "key "+want[i].ID, want[i], got[i])
	}
}

func testSigningKeys(t *testing.T, open opener) {
	t.Run("RotateSigningKey", func(t *testing.T) {
		s := open(t)
		if list := listKeys(t, s); len(list) != 0 {
			t.Fatalf("empty store lists %d keys", len(list))
		}
		t1 := now()
		t2, t3 := t1.Add(time.Hour), t1.Add(2*time.Hour)
		k1, k2, k3 := newKey("k1", t1), newKey("k2", t2), newKey("k3", t3)

		must(t, "RotateSigningKey(k1)", s.RotateSigningKey(t.Context(), k1, t1))
		sameKeys(t, []identity.SigningKey{k1}, listKeys(t, s))

		must(t, "RotateSigningKey(k2)", s.RotateSigningKey(t.Context(), k2, t2))
		k1.RetiredAt = t2
		sameKeys(t, []identity.SigningKey{k2, k1}, listKeys(t, s))

		must(t, "RotateSigningKey(k3)", s.RotateSigningKey(t.Context(), k3, t3))
		k2.RetiredAt = t3
		sameKeys(t, []identity.SigningKey{k3, k2, k1}, listKeys(t, s))

		// A taken ID changes nothing: k3 stays active.
		wantErr(t, "RotateSigningKey(k2 again)", s.RotateSigningKey(t.Context(), newKey("k2", t3), t3.Add(time.Hour)), identity.ErrConflict)
		sameKeys(t, []identity.SigningKey{k3, k2, k1}, listKeys(t, s))
	})
	t.Run("RotateSigningKey sets a zero CreatedAt", func(t *testing.T) {
		s := open(t)
		at := now()
		k := newKey("k1", time.Time{})
		must(t, "RotateSigningKey", s.RotateSigningKey(t.Context(), k, at))
		k.CreatedAt, k.SignFrom = at, at
		sameKeys(t, []identity.SigningKey{k}, listKeys(t, s))
	})
	t.Run("RotateSigningKey ahead: the newest key signs from SignFrom, the previous one until then", func(t *testing.T) {
		s := open(t)
		t1 := now()
		k1 := newKey("k1", t1)
		must(t, "RotateSigningKey(k1)", s.RotateSigningKey(t.Context(), k1, t1))
		t2 := t1.Add(time.Minute)
		k2 := newKey("k2", t2)
		k2.SignFrom = t2.Add(6 * time.Minute) // published six minutes ahead
		must(t, "RotateSigningKey(k2)", s.RotateSigningKey(t.Context(), k2, t2))
		k1.RetiredAt = k2.SignFrom // k1 signs until k2 starts, not until the rotation
		sameKeys(t, []identity.SigningKey{k2, k1}, listKeys(t, s))
		// Nothing is deleted that is retired in the future.
		n, err := s.DeleteSigningKeys(t.Context(), t2.Add(time.Minute))
		must(t, "DeleteSigningKeys", err)
		if n != 0 {
			t.Fatalf("DeleteSigningKeys removed %d keys retired in the future", n)
		}
	})
	t.Run("ListSigningKeys orders retired keys newest first", func(t *testing.T) {
		s := open(t)
		t0 := now()
		var want []identity.SigningKey
		for i := range 5 {
			at := t0.Add(time.Duration(i) * time.Minute)
			k := newKey(fmt.Sprintf("key-%d", 4-i), at) // IDs sort against time
			must(t, "RotateSigningKey", s.RotateSigningKey(t.Context(), k, at))
			if len(want) > 0 {
				want[0].RetiredAt = at
			}
			want = append([]identity.SigningKey{k}, want...)
		}
		sameKeys(t, want, listKeys(t, s))
	})
	t.Run("concurrent RotateSigningKey", func(t *testing.T) {
		// Several auth server instances rotating at once: every rotation
		// lands, and exactly one key ends up active.
		s := open(t)
		at := now()
		must(t, "RotateSigningKey", s.RotateSigningKey(t.Context(), newKey("k-first", at), at))
		warmUp(t, s)
		errs := race(concurrency, func(i int) error {
			return s.RotateSigningKey(t.Context(), newKey(fmt.Sprintf("k%02d", i), at), at.Add(time.Minute))
		})
		for _, err := range errs {
			must(t, "RotateSigningKey", err)
		}
		list := listKeys(t, s)
		if len(list) != concurrency+1 {
			t.Fatalf("ListSigningKeys returned %d keys, want %d", len(list), concurrency+1)
		}
		active := 0
		for _, k := range list {
			if k.RetiredAt.IsZero() {
				active++
			}
		}
		if active != 1 || !list[0].RetiredAt.IsZero() {
			t.Errorf("%d active keys (first listed retired at %v), want exactly 1, listed first", active, list[0].RetiredAt)
		}
	})
	t.Run("DeleteSigningKeys", func(t *testing.T) {
		s := open(t)
		t1 := now()
		t2, t3 := t1.Add(time.Hour), t1.Add(2*time.Hour)
		k1, k2, k3 := newKey("k1", t1), newKey("k2", t2), newKey("k3", t3)
		must(t, "RotateSigningKey(k1)", s.RotateSigningKey(t.Context(), k1, t1))
		must(t, "RotateSigningKey(k2)", s.RotateSigningKey(t.Context(), k2, t2))
		must(t, "RotateSigningKey(k3)", s.RotateSigningKey(t.Context(), k3, t3))
		k1.RetiredAt, k2.RetiredAt = t2, t3

		n, err := s.DeleteSigningKeys(t.Context(), t2)
		must(t, "DeleteSigningKeys(t2)", err)
		if n != 0 {
			t.Errorf("DeleteSigningKeys(t2) = %d, want 0: k1 retired at t2, not before", n)
		}
		n, err = s.DeleteSigningKeys(t.Context(), t3)
		must(t, "DeleteSigningKeys(t3)", err)
		if n != 1 {
			t.Errorf("DeleteSigningKeys(t3) = %d, want 1", n)
		}
		sameKeys(t, []identity.SigningKey{k3, k2}, listKeys(t, s))

		// The active key stays whatever the cutoff.
		n, err = s.DeleteSigningKeys(t.Context(), t3.Add(365*24*time.Hour))
		must(t, "DeleteSigningKeys(next year)", err)
		if n != 1 {
			t.Errorf("DeleteSigningKeys(next year) = %d, want 1", n)
		}
		sameKeys(t, []identity.SigningKey{k3}, listKeys(t, s))
	})
}
