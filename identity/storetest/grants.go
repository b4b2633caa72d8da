package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

func newCode(at time.Time) *identity.AuthCode {
	return &identity.AuthCode{
		Hash:                identity.HashToken(identity.NewSecret()),
		ClientID:            "web",
		UserID:              "user-1",
		RedirectURI:         "https://app.example/callback",
		Scope:               "openid profile orders:read",
		Audience:            []string{"orders"},
		Nonce:               "n-0S6_WzA2Mj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		AuthTime:            at.Add(-time.Minute),
		ExpiresAt:           at.Add(time.Minute),
	}
}

func testCodes(t *testing.T, open opener) {
	t.Run("first ConsumeCode succeeds", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		got, err := s.ConsumeCode(t.Context(), c.Hash, at)
		must(t, "ConsumeCode", err)
		c.UsedAt = at
		same(t, "ConsumeCode", c, got)
	})
	t.Run("a code keeps its DPoP key (dpop_jkt)", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		c.DPoPJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		got, err := s.ConsumeCode(t.Context(), c.Hash, at)
		must(t, "ConsumeCode", err)
		c.UsedAt = at
		same(t, "ConsumeCode", c, got)
	})
	t.Run("second ConsumeCode returns ErrCodeUsed and what was issued", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		_, err := s.ConsumeCode(t.Context(), c.Hash, at)
		must(t, "ConsumeCode", err)
		must(t, "SetCodeIssued", s.SetCodeIssued(t.Context(), c.Hash, "family-1", "jti-1"))
		for _, when := range []time.Time{at.Add(time.Second), c.ExpiresAt.Add(time.Hour)} {
			got, err := s.ConsumeCode(t.Context(), c.Hash, when)
			wantErr(t, "ConsumeCode again", err, identity.ErrCodeUsed)
			c.UsedAt, c.FamilyID, c.IssuedJTI = at, "family-1", "jti-1"
			same(t, "ConsumeCode again", c, got)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		for _, when := range []time.Time{c.ExpiresAt, c.ExpiresAt.Add(time.Second)} {
			got, err := s.ConsumeCode(t.Context(), c.Hash, when)
			wantErr(t, fmt.Sprintf("ConsumeCode at expiry%+v", when.Sub(c.ExpiresAt)), err, identity.ErrExpired)
			if got != nil && !got.UsedAt.IsZero() {
				t.Errorf("ConsumeCode marked an expired code used")
			}
		}
		// The expired redemption did not use the code up.
		_, err := s.ConsumeCode(t.Context(), c.Hash, at)
		must(t, "ConsumeCode before expiry", err)
	})
	t.Run("unknown code", func(t *testing.T) {
		s := open(t)
		must(t, "SaveCode", s.SaveCode(t.Context(), newCode(now())))
		got, err := s.ConsumeCode(t.Context(), identity.HashToken("nope"), now())
		wantErr(t, "ConsumeCode", err, identity.ErrNotFound)
		if got != nil {
			t.Errorf("ConsumeCode returned %+v with ErrNotFound", got)
		}
		wantErr(t, "SetCodeIssued", s.SetCodeIssued(t.Context(), identity.HashToken("nope"), "f", "j"), identity.ErrNotFound)
	})
	t.Run("SaveCode refuses a taken hash", func(t *testing.T) {
		s := open(t)
		c := newCode(now())
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		dup := newCode(now())
		dup.Hash = c.Hash
		wantErr(t, "SaveCode again", s.SaveCode(t.Context(), dup), identity.ErrConflict)
	})
	t.Run("SaveCode refuses a code without hash or expiry", func(t *testing.T) {
		s := open(t)
		c := newCode(now())
		c.Hash = ""
		if err := s.SaveCode(t.Context(), c); err == nil {
			t.Error("SaveCode accepted an empty hash")
		}
		c = newCode(now())
		c.ExpiresAt = time.Time{}
		if err := s.SaveCode(t.Context(), c); err == nil {
			t.Error("SaveCode accepted a code that never expires")
		}
	})
	t.Run("concurrent ConsumeCode", func(t *testing.T) {
		s := open(t)
		at := now()
		c := newCode(at)
		must(t, "SaveCode", s.SaveCode(t.Context(), c))
		warmUp(t, s)
		errs := race(concurrency, func(int) error {
			_, err := s.ConsumeCode(t.Context(), c.Hash, at)
			return err
		})
		oneWinner(t, "ConsumeCode", errs, identity.ErrCodeUsed)
	})
}

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
	t.Run("RevokeFamily", func(t *testing.T) {
		s := open(t)
		at := now()
		a := newRefresh(at, "family-a", "user-1")
		b := newRefresh(at, "family-b", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), a))
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), b))
		must(t, "RevokeFamily", s.RevokeFamily(t.Context(), "family-a", at))
		must(t, "RevokeFamily again", s.RevokeFamily(t.Context(), "family-a", at.Add(time.Second)))
		wantRevoked(t, s, map[string]bool{"family-a": true, "family-b": false, "family-unknown": false})
		got, err := s.RotateRefreshToken(t.Context(), a.Hash, next(a, at), at)
		wantErr(t, "RotateRefreshToken(a)", err, identity.ErrFamilyRevoked)
		same(t, "ErrFamilyRevoked result", a, got)
		_, err = s.RotateRefreshToken(t.Context(), b.Hash, next(b, at), at)
		must(t, "RotateRefreshToken(b)", err)
	})
	t.Run("RevokeFamily before its first token", func(t *testing.T) {
		s := open(t)
		at := now()
		must(t, "RevokeFamily", s.RevokeFamily(t.Context(), "family-1", at))
		wantRevoked(t, s, map[string]bool{"family-1": true})
		rt := newRefresh(at, "family-1", "user-1")
		must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), rt))
		wantRevoked(t, s, map[string]bool{"family-1": true})
		_, err := s.RotateRefreshToken(t.Context(), rt.Hash, next(rt, at), at)
		wantErr(t, "RotateRefreshToken", err, identity.ErrFamilyRevoked)
	})
	t.Run("RevokeSubjectFamilies", func(t *testing.T) {
		s := open(t)
		at := now()
		a1 := newRefresh(at, "alice-1", "alice")
		a2 := newRefresh(at, "alice-2", "alice")
		b1 := newRefresh(at, "bob-1", "bob")
		for _, rt := range []*identity.RefreshToken{a1, a2, b1} {
			must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), rt))
		}
		a1next := next(a1, at)
		_, err := s.RotateRefreshToken(t.Context(), a1.Hash, a1next, at)
		must(t, "RotateRefreshToken", err)
		must(t, "RevokeSubjectFamilies", s.RevokeSubjectFamilies(t.Context(), "alice", at))
		wantRevoked(t, s, map[string]bool{"alice-1": true, "alice-2": true, "bob-1": false})
		_, err = s.RotateRefreshToken(t.Context(), a1next.Hash, next(a1next, at), at)
		wantErr(t, "RotateRefreshToken(alice's newest)", err, identity.ErrFamilyRevoked)
		_, err = s.RotateRefreshToken(t.Context(), b1.Hash, next(b1, at), at)
		must(t, "RotateRefreshToken(bob's)", err)
		must(t, "RevokeSubjectFamilies(nobody)", s.RevokeSubjectFamilies(t.Context(), "nobody", at))
	})
	t.Run("RevokeClientFamilies", func(t *testing.T) {
		s := open(t)
		at := now()
		w1 := newRefresh(at, "web-1", "alice")
		w2 := newRefresh(at, "web-2", "bob")
		c1 := newRefresh(at, "cli-1", "alice")
		w1.ClientID, w2.ClientID, c1.ClientID = "web", "web", "cli"
		for _, rt := range []*identity.RefreshToken{w1, w2, c1} {
			must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), rt))
		}
		w1next := next(w1, at)
		_, err := s.RotateRefreshToken(t.Context(), w1.Hash, w1next, at)
		must(t, "RotateRefreshToken", err)
		must(t, "RevokeClientFamilies", s.RevokeClientFamilies(t.Context(), "web", at))
		wantRevoked(t, s, map[string]bool{"web-1": true, "web-2": true, "cli-1": false})
		_, err = s.RotateRefreshToken(t.Context(), w1next.Hash, next(w1next, at), at)
		wantErr(t, "RotateRefreshToken(web's newest)", err, identity.ErrFamilyRevoked)
		_, err = s.RotateRefreshToken(t.Context(), c1.Hash, next(c1, at), at)
		must(t, "RotateRefreshToken(cli's)", err)
		must(t, "RevokeClientFamilies(nobody)", s.RevokeClientFamilies(t.Context(), "nobody", at))
	})
}

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

func wantRevoked(t *testing.T, s identity.Store, want map[string]bool) {
	t.Helper()
	for family, w := range want {
		got, err := s.FamilyRevoked(t.Context(), family)
		must(t, "FamilyRevoked", err)
		if got != w {
			t.Errorf("FamilyRevoked(%s) = %v, want %v", family, got, w)
		}
	}
}

func testGrantPruner(t *testing.T, open opener) {
	s := open(t)
	p, ok := s.(identity.GrantPruner)
	if !ok {
		t.Skip("the store does not implement identity.GrantPruner")
	}
	at := now()
	oldCode, liveCode := newCode(at.Add(-time.Hour)), newCode(at)
	must(t, "SaveCode", s.SaveCode(t.Context(), oldCode))
	must(t, "SaveCode", s.SaveCode(t.Context(), liveCode))
	oldRT := newRefresh(at.Add(-48*time.Hour), "family-old", "user-1")
	liveRT := newRefresh(at, "family-live", "user-1")
	must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), oldRT))
	must(t, "SaveRefreshToken", s.SaveRefreshToken(t.Context(), liveRT))

	n, err := p.PruneGrants(t.Context(), at)
	must(t, "PruneGrants", err)
	if n != 2 {
		t.Errorf("PruneGrants = %d, want 2", n)
	}
	_, err = s.ConsumeCode(t.Context(), oldCode.Hash, at)
	wantErr(t, "ConsumeCode(pruned)", err, identity.ErrNotFound)
	_, err = s.RefreshTokenByHash(t.Context(), oldRT.Hash)
	wantErr(t, "RefreshTokenByHash(pruned)", err, identity.ErrNotFound)
	_, err = s.ConsumeCode(t.Context(), liveCode.Hash, at)
	must(t, "ConsumeCode(live)", err)
	_, err = s.RotateRefreshToken(t.Context(), liveRT.Hash, next(liveRT, at), at)
	must(t, "RotateRefreshToken(live)", err)

	n, err = p.PruneGrants(t.Context(), at)
	must(t, "PruneGrants again", err)
	if n != 0 {
		t.Errorf("PruneGrants again = %d, want 0", n)
	}
}
