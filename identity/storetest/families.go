package storetest

// The conformance tests of revoking refresh-token families: one family
// (RevokeFamily, also before its first token is saved), every family of a
// subject (RevokeSubjectFamilies) and of a client (RevokeClientFamilies).

import (
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// testFamilyRevocation runs the revocation subtests of testRefreshTokens,
// under its t: the newest token of a revoked family no longer rotates, and
// the other families are untouched.
func testFamilyRevocation(t *testing.T, open opener) {
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

// wantRevoked fails the test unless FamilyRevoked reports each family of
// want as revoked (true) or standing (false).
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
