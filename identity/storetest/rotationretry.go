package storetest

// The conformance tests of the rotation grace, identity.RotationRetry, run
// on the store.

import (
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// testRotationRetry checks identity.RotationRetry on the store: a used token
// presented again within the grace, with its successor unused and the
// family standing, is a retry; anything else goes on to the rotation,
// which finds the reuse.
func testRotationRetry(t *testing.T, open opener) {
	const grace = 15 * time.Second
	// rotated returns a store with a token rotated at at, and its successor.
	rotated := func(t *testing.T, at time.Time) (identity.Store, *identity.RefreshToken, *identity.RefreshToken) {
		s := open(t)
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		nx := next(old, at)
		_, err := s.RotateRefreshToken(t.Context(), old.Hash, nx, at)
		must(t, "RotateRefreshToken", err)
		old, err = s.RefreshTokenByHash(t.Context(), old.Hash)
		must(t, "RefreshTokenByHash", err)
		return s, old, nx
	}
	t.Run("within the grace", func(t *testing.T) {
		at := now()
		s, old, nx := rotated(t, at)
		for _, when := range []time.Time{at, at.Add(grace)} {
			got := identity.RotationRetry(t.Context(), s, old, when, grace)
			if got == nil {
				t.Fatalf("no retry %v after the rotation", when.Sub(at))
			}
			same(t, "the successor", nx, got)
		}
		wantRevoked(t, s, map[string]bool{"family-1": false})
	})
	t.Run("reuse after the grace", func(t *testing.T) {
		at := now()
		s, old, _ := rotated(t, at)
		late := at.Add(grace + time.Millisecond)
		if got := identity.RotationRetry(t.Context(), s, old, late, grace); got != nil {
			t.Fatal("a retry after the grace")
		}
		_, err := s.RotateRefreshToken(t.Context(), old.Hash, next(old, late), late)
		wantErr(t, "RotateRefreshToken after the grace", err, identity.ErrRefreshReused)
		wantRevoked(t, s, map[string]bool{"family-1": true})
	})
	t.Run("no grace", func(t *testing.T) {
		at := now()
		s, old, _ := rotated(t, at)
		if got := identity.RotationRetry(t.Context(), s, old, at, 0); got != nil {
			t.Fatal("a retry with the grace off")
		}
	})
	t.Run("an unused token", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		if got := identity.RotationRetry(t.Context(), s, old, at, grace); got != nil {
			t.Fatal("a retry of a token never rotated")
		}
	})
	t.Run("the successor used", func(t *testing.T) {
		at := now()
		s, old, nx := rotated(t, at)
		_, err := s.RotateRefreshToken(t.Context(), nx.Hash, next(nx, at), at)
		must(t, "RotateRefreshToken(successor)", err)
		if got := identity.RotationRetry(t.Context(), s, old, at, grace); got != nil {
			t.Fatal("a retry after the successor was used")
		}
	})
	t.Run("the family revoked", func(t *testing.T) {
		at := now()
		s, old, _ := rotated(t, at)
		must(t, "RevokeFamily", s.RevokeFamily(t.Context(), "family-1", at))
		if got := identity.RotationRetry(t.Context(), s, old, at, grace); got != nil {
			t.Fatal("a retry in a revoked family")
		}
	})
	t.Run("no sealed answer", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		nx := next(old, at)
		nx.Sealed = nil
		_, err := s.RotateRefreshToken(t.Context(), old.Hash, nx, at)
		must(t, "RotateRefreshToken", err)
		old.UsedAt = at
		if got := identity.RotationRetry(t.Context(), s, old, at, grace); got != nil {
			t.Fatal("a retry without an answer to replay")
		}
	})
}
