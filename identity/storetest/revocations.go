package storetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

func listRevocations(t *testing.T, s identity.Store, at time.Time) []identity.Revocation {
	t.Helper()
	list, err := s.ListRevocations(t.Context(), at)
	must(t, "ListRevocations", err)
	slices.SortFunc(list, func(a, b identity.Revocation) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Value, b.Value))
	})
	return list
}

func sameRevocations(t *testing.T, want, got []identity.Revocation) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("ListRevocations returned %d entries %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range want {
		same(t, "revocation "+string(want[i].Kind)+" "+want[i].Value, want[i], got[i])
	}
}

func testRevocations(t *testing.T, open opener) {
	at := now()
	jti := identity.Revocation{Kind: identity.RevokeToken, Value: "jti-1", Until: at.Add(time.Hour)}
	sub := identity.Revocation{Kind: identity.RevokeSubject, Value: "alice", IssuedBefore: at, Until: at.Add(2 * time.Hour)}
	sid := identity.Revocation{Kind: identity.RevokeSession, Value: "sess-1", Until: at.Add(time.Hour)}
	endsNow := identity.Revocation{Kind: identity.RevokeClient, Value: "web", IssuedBefore: at.Add(-time.Hour), Until: at}
	ended := identity.Revocation{Kind: identity.RevokeToken, Value: "jti-0", Until: at.Add(-time.Second)}
	all := []identity.Revocation{jti, sub, sid, endsNow, ended}

	t.Run("AddRevocation and ListRevocations", func(t *testing.T) {
		s := open(t)
		if list := listRevocations(t, s, at); len(list) != 0 {
			t.Fatalf("empty store lists %d revocations", len(list))
		}
		for _, r := range all {
			must(t, "AddRevocation", s.AddRevocation(t.Context(), r))
		}
		// Only the entries whose Until is after now, sorted here by kind and value.
		sameRevocations(t, []identity.Revocation{jti, sid, sub}, listRevocations(t, s, at))
		sameRevocations(t, []identity.Revocation{endsNow, jti, sid, sub}, listRevocations(t, s, at.Add(-time.Millisecond)))
		sameRevocations(t, nil, listRevocations(t, s, at.Add(3*time.Hour)))
	})
	t.Run("AddRevocation merges an entry of the same kind and value", func(t *testing.T) {
		s := open(t)
		must(t, "AddRevocation", s.AddRevocation(t.Context(), sub))
		later := sub
		later.IssuedBefore, later.Until = at.Add(time.Minute), at.Add(time.Hour)
		must(t, "AddRevocation again", s.AddRevocation(t.Context(), later))
		earlier := sub
		earlier.IssuedBefore, earlier.Until = at.Add(-time.Minute), at.Add(time.Minute)
		must(t, "AddRevocation once more", s.AddRevocation(t.Context(), earlier))
		list := listRevocations(t, s, at)
		if len(list) != 1 {
			t.Fatalf("ListRevocations returned %d entries %v, want 1", len(list), list)
		}
		sameTime(t, "IssuedBefore", later.IssuedBefore, list[0].IssuedBefore)
		sameTime(t, "Until", sub.Until, list[0].Until)
	})
	t.Run("PruneRevocations", func(t *testing.T) {
		s := open(t)
		for _, r := range all {
			must(t, "AddRevocation", s.AddRevocation(t.Context(), r))
		}
		n, err := s.PruneRevocations(t.Context(), at)
		must(t, "PruneRevocations", err)
		if n != 2 {
			t.Errorf("PruneRevocations = %d, want 2", n)
		}
		// Pruned entries are gone even for an earlier clock.
		sameRevocations(t, []identity.Revocation{jti, sid, sub}, listRevocations(t, s, at.Add(-time.Hour)))
		n, err = s.PruneRevocations(t.Context(), at)
		must(t, "PruneRevocations again", err)
		if n != 0 {
			t.Errorf("PruneRevocations again = %d, want 0", n)
		}
		n, err = s.PruneRevocations(t.Context(), at.Add(3*time.Hour))
		must(t, "PruneRevocations later", err)
		if n != 3 {
			t.Errorf("PruneRevocations later = %d, want 3", n)
		}
		sameRevocations(t, nil, listRevocations(t, s, at.Add(-time.Hour)))
	})
}
