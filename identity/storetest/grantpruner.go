package storetest

// The conformance test of identity.GrantPruner, for the stores that
// implement it: expired codes and refresh tokens go, live ones stay.

import (
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

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
