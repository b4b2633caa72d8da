package storetest

// The conformance tests of refresh tokens: storing and looking them up,
// rotation (one successor per token, in its family), reuse of a rotated
// token revoking its family, expiry, and the races of rotations and
// replays. The rotation grace is in rotationretry.go, the revocation of
// whole families in families.go.

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

func newRefresh(at time.Time, family, subject string) *identity.RefreshToken {
	return &identity.RefreshToken{
		Hash:      identity.HashToken(identity.NewSecret()),
		FamilyID:  family,
		ClientID:  "web",
		Subject:   subject,
		Scope:     "openid offline_access",
		Audience:  []string{"orders", "accounts"},
		AuthTime:  at.Add(-time.Hour),
		CreatedAt: at,
		ExpiresAt: at.Add(24 * time.Hour),
	}
}

// next is the token that replaces old in a rotation at at; its family is
// left for the store to fill in.
func next(old *identity.RefreshToken, at time.Time) *identity.RefreshToken {
	n := newRefresh(at, "", old.Subject)
	n.AuthTime = old.AuthTime
	n.Parent, n.Sealed = old.Hash, []byte("sealed response of "+old.Hash)
	return n
}

func testRefreshTokens(t *testing.T, open opener) {
	t.Run("SaveRefreshToken round-trips", func(t *testing.T) {
		s := open(t)
		rt := newRefresh(now(), "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), rt))
		got, err := s.RefreshTokenByHash(t.Context(), rt.Hash)
		must(t, "RefreshTokenByHash", err)
		same(t, "RefreshTokenByHash", rt, got)

		rt = newRefresh(now(), "family-2", "user-1")
		rt.CreatedAt = time.Time{}
		before := time.Now()
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), rt))
		within(t, "CreatedAt", rt.CreatedAt, before, time.Now())
		got, err = s.RefreshTokenByHash(t.Context(), rt.Hash)
		must(t, "RefreshTokenByHash", err)
		same(t, "RefreshTokenByHash", rt, got)
	})
	t.Run("a refresh token keeps its DPoP key through a rotation", func(t *testing.T) {
		s := open(t)
		at := now()
		rt := newRefresh(at, "family-dpop", "user-1")
		rt.DPoPJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), rt))
		got, err := s.RefreshTokenByHash(t.Context(), rt.Hash)
		must(t, "RefreshTokenByHash", err)
		same(t, "RefreshTokenByHash", rt, got)
		n := next(rt, at.Add(time.Second))
		n.FamilyID, n.DPoPJKT = rt.FamilyID, rt.DPoPJKT
		_, err = s.RotateRefreshToken(t.Context(), rt.Hash, n, at.Add(time.Second))
		must(t, "RotateRefreshToken", err)
		got, err = s.RefreshTokenByHash(t.Context(), n.Hash)
		must(t, "RefreshTokenByHash(next)", err)
		if got.DPoPJKT != rt.DPoPJKT {
			t.Errorf("the rotated token's DPoPJKT = %q, want %q", got.DPoPJKT, rt.DPoPJKT)
		}
	})
	t.Run("unknown refresh token", func(t *testing.T) {
		s := open(t)
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), newRefresh(now(), "family-1", "user-1")))
		got, err := s.RefreshTokenByHash(t.Context(), identity.HashToken("nope"))
		wantErr(t, "RefreshTokenByHash", err, identity.ErrNotFound)
		if got != nil {
			t.Errorf("RefreshTokenByHash returned %+v with ErrNotFound", got)
		}
		got, err = s.RotateRefreshToken(t.Context(), identity.HashToken("nope"), newRefresh(now(), "family-1", "user-1"), now())
		wantErr(t, "RotateRefreshToken", err, identity.ErrNotFound)
		if got != nil {
			t.Errorf("RotateRefreshToken returned %+v with ErrNotFound", got)
		}
	})
	t.Run("SaveRefreshToken refuses a taken hash", func(t *testing.T) {
		s := open(t)
		rt := newRefresh(now(), "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), rt))
		dup := newRefresh(now(), "family-2", "user-2")
		dup.Hash = rt.Hash
		wantErr(t, "SaveRefreshToken again", s.SaveRefreshToken(t.Context(), dup), identity.ErrConflict)
	})
	t.Run("SaveRefreshToken refuses a token without hash, family or expiry", func(t *testing.T) {
		s := open(t)
		for name, spoil := range map[string]func(*identity.RefreshToken){
			"hash":   func(rt *identity.RefreshToken) { rt.Hash = "" },
			"family": func(rt *identity.RefreshToken) { rt.FamilyID = "" },
			"expiry": func(rt *identity.RefreshToken) { rt.ExpiresAt = time.Time{} },
		} {
			rt := newRefresh(now(), "family-1", "user-1")
			spoil(rt)
			if err := s.SaveRefreshToken(t.Context(), rt); err == nil {
				t.Errorf("SaveRefreshToken accepted a token without %s", name)
			}
		}
	})
	t.Run("RotateRefreshToken", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		cur := old
		for i := 1; i <= 3; i++ {
			when := at.Add(time.Duration(i) * time.Minute)
			nx := next(cur, when)
			got, err := s.RotateRefreshToken(t.Context(), cur.Hash, nx, when)
			must(t, "RotateRefreshToken", err)
			cur.UsedAt = when
			same(t, "RotateRefreshToken result", cur, got)
			if nx.FamilyID != "family-1" {
				t.Errorf("next.FamilyID = %q, want the old token's family-1", nx.FamilyID)
			}
			stored, err := s.RefreshTokenByHash(t.Context(), cur.Hash)
			must(t, "RefreshTokenByHash(old)", err)
			same(t, "old token", cur, stored)
			stored, err = s.RefreshTokenByHash(t.Context(), nx.Hash)
			must(t, "RefreshTokenByHash(next)", err)
			same(t, "next token", nx, stored)
			stored, err = s.RefreshTokenByParent(t.Context(), cur.Hash)
			must(t, "RefreshTokenByParent(old)", err)
			same(t, "next token by its parent", nx, stored)
			cur = nx
		}
		revoked, err := s.FamilyRevoked(t.Context(), "family-1")
		must(t, "FamilyRevoked", err)
		if revoked {
			t.Error("rotation revoked the family")
		}
	})
	t.Run("RefreshTokenByParent of a first token or an unknown one", func(t *testing.T) {
		s := open(t)
		first := newRefresh(now(), "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), first))
		for _, parent := range []string{first.Hash, "", identity.HashToken("nope")} {
			_, err := s.RefreshTokenByParent(t.Context(), parent)
			wantErr(t, "RefreshTokenByParent("+parent+")", err, identity.ErrNotFound)
		}
	})
	t.Run("RotateRefreshToken sets a zero CreatedAt", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		nx := next(old, at)
		nx.CreatedAt = time.Time{}
		when := at.Add(time.Second)
		_, err := s.RotateRefreshToken(t.Context(), old.Hash, nx, when)
		must(t, "RotateRefreshToken", err)
		sameTime(t, "next.CreatedAt", when, nx.CreatedAt)
		stored, err := s.RefreshTokenByHash(t.Context(), nx.Hash)
		must(t, "RefreshTokenByHash", err)
		sameTime(t, "stored CreatedAt", when, stored.CreatedAt)
	})
	t.Run("reuse revokes the family", func(t *testing.T) {
		s := open(t)
		at := now()
		t1 := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), t1))
		t2 := next(t1, at.Add(time.Minute))
		_, err := s.RotateRefreshToken(t.Context(), t1.Hash, t2, at.Add(time.Minute))
		must(t, "RotateRefreshToken", err)

		// An attacker replays t1.
		t3 := next(t1, at.Add(2*time.Minute))
		got, err := s.RotateRefreshToken(t.Context(), t1.Hash, t3, at.Add(2*time.Minute))
		wantErr(t, "RotateRefreshToken(t1) again", err, identity.ErrRefreshReused)
		t1.UsedAt = at.Add(time.Minute)
		same(t, "ErrRefreshReused result", t1, got)
		_, err = s.RefreshTokenByHash(t.Context(), t3.Hash)
		wantErr(t, "RefreshTokenByHash(t3)", err, identity.ErrNotFound)
		revoked, err := s.FamilyRevoked(t.Context(), "family-1")
		must(t, "FamilyRevoked", err)
		if !revoked {
			t.Fatal("reuse did not revoke the family")
		}
		// The newest token of the family, held by the legitimate client or
		// the attacker, is dead too.
		got, err = s.RotateRefreshToken(t.Context(), t2.Hash, next(t2, at.Add(3*time.Minute)), at.Add(3*time.Minute))
		wantErr(t, "RotateRefreshToken(t2)", err, identity.ErrFamilyRevoked)
		same(t, "ErrFamilyRevoked result", t2, got)
		// And so is the replayed one, now reported as revoked.
		_, err = s.RotateRefreshToken(t.Context(), t1.Hash, next(t1, at.Add(4*time.Minute)), at.Add(4*time.Minute))
		wantErr(t, "RotateRefreshToken(t1) once more", err, identity.ErrFamilyRevoked)
	})
	t.Run("expired refresh token", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		for _, when := range []time.Time{old.ExpiresAt, old.ExpiresAt.Add(time.Second)} {
			nx := next(old, when)
			got, err := s.RotateRefreshToken(t.Context(), old.Hash, nx, when)
			wantErr(t, "RotateRefreshToken", err, identity.ErrExpired)
			same(t, "ErrExpired result", old, got)
			_, err = s.RefreshTokenByHash(t.Context(), nx.Hash)
			wantErr(t, "RefreshTokenByHash(next)", err, identity.ErrNotFound)
		}
		stored, err := s.RefreshTokenByHash(t.Context(), old.Hash)
		must(t, "RefreshTokenByHash", err)
		same(t, "expired token", old, stored)
		revoked, err := s.FamilyRevoked(t.Context(), "family-1")
		must(t, "FamilyRevoked", err)
		if revoked {
			t.Error("an expired token revoked its family")
		}
	})
	t.Run("a used token that has expired since is reuse", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		nx := next(old, at)
		_, err := s.RotateRefreshToken(t.Context(), old.Hash, nx, at)
		must(t, "RotateRefreshToken", err)
		late := old.ExpiresAt.Add(time.Second)
		got, err := s.RotateRefreshToken(t.Context(), old.Hash, next(old, late), late)
		wantErr(t, "RotateRefreshToken(used, expired)", err, identity.ErrRefreshReused)
		old.UsedAt = at
		same(t, "ErrRefreshReused result", old, got)
		wantRevoked(t, s, map[string]bool{"family-1": true})
	})
	t.Run("a revoked family is reported before expiry", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		must(t, "RevokeFamily", s.RevokeFamily(t.Context(), "family-1", at))
		late := old.ExpiresAt.Add(time.Second)
		got, err := s.RotateRefreshToken(t.Context(), old.Hash, next(old, late), late)
		wantErr(t, "RotateRefreshToken(revoked, expired)", err, identity.ErrFamilyRevoked)
		same(t, "ErrFamilyRevoked result", old, got)
	})
	t.Run("RotationRetry", func(t *testing.T) { testRotationRetry(t, open) })
	t.Run("RotateRefreshToken refuses another family", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		nx := next(old, at)
		nx.FamilyID = "family-2"
		if _, err := s.RotateRefreshToken(t.Context(), old.Hash, nx, at); err == nil {
			t.Fatal("RotateRefreshToken moved a token to another family")
		}
		stored, err := s.RefreshTokenByHash(t.Context(), old.Hash)
		must(t, "RefreshTokenByHash", err)
		same(t, "old token", old, stored)
	})
	t.Run("RotateRefreshToken rolls back on a taken hash", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		other := newRefresh(at, "family-2", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), other))
		nx := next(old, at)
		nx.Hash = other.Hash
		_, err := s.RotateRefreshToken(t.Context(), old.Hash, nx, at)
		wantErr(t, "RotateRefreshToken", err, identity.ErrConflict)
		stored, err := s.RefreshTokenByHash(t.Context(), old.Hash)
		must(t, "RefreshTokenByHash", err)
		same(t, "old token after the failed rotation", old, stored)
		// Still usable.
		_, err = s.RotateRefreshToken(t.Context(), old.Hash, next(old, at), at)
		must(t, "RotateRefreshToken", err)
	})
	t.Run("concurrent RotateRefreshToken", func(t *testing.T) {
		s := open(t)
		at := now()
		old := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), old))
		nexts := make([]*identity.RefreshToken, concurrency)
		for i := range nexts {
			nexts[i] = next(old, at)
		}
		warmUp(t, s)
		errs := race(concurrency, func(i int) error {
			_, err := s.RotateRefreshToken(t.Context(), old.Hash, nexts[i], at)
			return err
		})
		oneWinner(t, "RotateRefreshToken", errs, identity.ErrRefreshReused, identity.ErrFamilyRevoked)
		reused := 0
		for _, err := range errs {
			if errors.Is(err, identity.ErrRefreshReused) {
				reused++
			}
		}
		if reused == 0 {
			t.Error("no losing rotation reported ErrRefreshReused")
		}
		revoked, err := s.FamilyRevoked(t.Context(), "family-1")
		must(t, "FamilyRevoked", err)
		if !revoked {
			t.Error("the losing rotations did not revoke the family")
		}
		stored := 0
		for _, nx := range nexts {
			if _, err := s.RefreshTokenByHash(t.Context(), nx.Hash); err == nil {
				stored++
			}
		}
		if stored != 1 {
			t.Errorf("%d next tokens stored, want 1", stored)
		}
	})
	t.Run("concurrent reuse and rotation of the successor", func(t *testing.T) {
		s := open(t)
		at := now()
		t1 := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), t1))
		t2 := next(t1, at)
		_, err := s.RotateRefreshToken(t.Context(), t1.Hash, t2, at)
		must(t, "RotateRefreshToken", err)
		warmUp(t, s)
		// Half replay t1 (reuse), half rotate t2: whatever the order, the
		// family ends revoked and t2 is rotated at most once.
		errs := race(concurrency, func(i int) error {
			if i%2 == 0 {
				_, err := s.RotateRefreshToken(t.Context(), t1.Hash, next(t1, at), at)
				return err
			}
			_, err := s.RotateRefreshToken(t.Context(), t2.Hash, next(t2, at), at)
			return err
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil && i%2 == 1:
				wins++
			case i%2 == 0 && !errors.Is(err, identity.ErrRefreshReused) && !errors.Is(err, identity.ErrFamilyRevoked):
				t.Errorf("replay of t1: %v, want ErrRefreshReused or ErrFamilyRevoked", err)
			case i%2 == 1 && err != nil && !errors.Is(err, identity.ErrRefreshReused) && !errors.Is(err, identity.ErrFamilyRevoked):
				t.Errorf("rotation of t2: %v, want success, ErrRefreshReused or ErrFamilyRevoked", err)
			}
		}
		if wins > 1 {
			t.Errorf("t2 rotated %d times", wins)
		}
		wantRevoked(t, s, map[string]bool{"family-1": true})
	})
	testFamilyRevocation(t, open)
}
