package storetest

import (
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

func newPushed(at time.Time) *identity.PushedRequest {
	return &identity.PushedRequest{
		Hash:      identity.HashToken(identity.NewSecret()),
		ClientID:  "web",
		Params:    "client_id=web&response_type=code&scope=openid+orders%3Aread&state=s%26t",
		ExpiresAt: at.Add(time.Minute),
	}
}

func testPushedRequests(t *testing.T, open opener) {
	t.Run("taken once", func(t *testing.T) {
		s := open(t)
		at := now()
		p := newPushed(at)
		must(t, "PushRequest", s.PushRequest(t.Context(), p))
		got, err := s.TakePushedRequest(t.Context(), p.Hash, p.ClientID, at)
		must(t, "TakePushedRequest", err)
		same(t, "TakePushedRequest", p, got)
	})
	t.Run("taken twice: the second is not found", func(t *testing.T) {
		s := open(t)
		at := now()
		p := newPushed(at)
		must(t, "PushRequest", s.PushRequest(t.Context(), p))
		_, err := s.TakePushedRequest(t.Context(), p.Hash, p.ClientID, at)
		must(t, "TakePushedRequest", err)
		got, err := s.TakePushedRequest(t.Context(), p.Hash, p.ClientID, at)
		wantErr(t, "TakePushedRequest again", err, identity.ErrNotFound)
		if got != nil {
			t.Errorf("TakePushedRequest again returned %+v", got)
		}
	})
	t.Run("expired: not found", func(t *testing.T) {
		s := open(t)
		at := now()
		p := newPushed(at)
		must(t, "PushRequest", s.PushRequest(t.Context(), p))
		for _, when := range []time.Time{p.ExpiresAt, p.ExpiresAt.Add(time.Second)} {
			_, err := s.TakePushedRequest(t.Context(), p.Hash, p.ClientID, when)
			wantErr(t, "TakePushedRequest at expiry", err, identity.ErrNotFound)
		}
	})
	t.Run("another client's: not found, and kept", func(t *testing.T) {
		s := open(t)
		at := now()
		p := newPushed(at)
		must(t, "PushRequest", s.PushRequest(t.Context(), p))
		_, err := s.TakePushedRequest(t.Context(), p.Hash, "spa", at)
		wantErr(t, "TakePushedRequest by another client", err, identity.ErrNotFound)
		_, err = s.TakePushedRequest(t.Context(), p.Hash, p.ClientID, at)
		must(t, "TakePushedRequest by its client", err)
	})
	t.Run("unknown: not found", func(t *testing.T) {
		s := open(t)
		_, err := s.TakePushedRequest(t.Context(), identity.HashToken("nope"), "web", now())
		wantErr(t, "TakePushedRequest", err, identity.ErrNotFound)
	})
	t.Run("PushRequest refuses a taken hash and an incomplete request", func(t *testing.T) {
		s := open(t)
		p := newPushed(now())
		must(t, "PushRequest", s.PushRequest(t.Context(), p))
		dup := newPushed(now())
		dup.Hash = p.Hash
		wantErr(t, "PushRequest again", s.PushRequest(t.Context(), dup), identity.ErrConflict)
		for name, f := range map[string]func(*identity.PushedRequest){
			"hash":   func(p *identity.PushedRequest) { p.Hash = "" },
			"client": func(p *identity.PushedRequest) { p.ClientID = "" },
			"expiry": func(p *identity.PushedRequest) { p.ExpiresAt = time.Time{} },
		} {
			p := newPushed(now())
			f(p)
			if err := s.PushRequest(t.Context(), p); err == nil {
				t.Errorf("PushRequest accepted a request without %s", name)
			}
		}
	})
	t.Run("concurrent TakePushedRequest", func(t *testing.T) {
		s := open(t)
		at := now()
		p := newPushed(at)
		must(t, "PushRequest", s.PushRequest(t.Context(), p))
		warmUp(t, s)
		errs := race(concurrency, func(int) error {
			_, err := s.TakePushedRequest(t.Context(), p.Hash, p.ClientID, at)
			return err
		})
		oneWinner(t, "TakePushedRequest", errs, identity.ErrNotFound)
	})
	t.Run("PruneGrants drops expired requests", func(t *testing.T) {
		s := open(t)
		pr, ok := s.(identity.GrantPruner)
		if !ok {
			t.Skip("the store does not prune")
		}
		at := now()
		old, fresh := newPushed(at.Add(-time.Hour)), newPushed(at)
		must(t, "PushRequest", s.PushRequest(t.Context(), old))
		must(t, "PushRequest", s.PushRequest(t.Context(), fresh))
		n, err := pr.PruneGrants(t.Context(), at)
		must(t, "PruneGrants", err)
		if n != 1 {
			t.Errorf("PruneGrants = %d, want 1", n)
		}
		_, err = s.TakePushedRequest(t.Context(), fresh.Hash, fresh.ClientID, at)
		must(t, "TakePushedRequest of the fresh request", err)
	})
}
