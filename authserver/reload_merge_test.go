package authserver_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
)

// hookStore runs hook once, after a reload's ListRevocations has read the
// store and before the reload applies what it read.
type hookStore struct {
	identity.Store
	hook func()
}

func (h *hookStore) ListRevocations(ctx context.Context, now time.Time) ([]identity.Revocation, error) {
	revs, err := h.Store.ListRevocations(ctx, now)
	if f := h.hook; f != nil {
		h.hook = nil
		f()
	}
	return revs, err
}

// A revocation made while a reload is in flight stays in the server's own
// deny list (its verifier serves introspection, userinfo and exchange).
func TestReloadKeepsRevocationMadeDuringIt(t *testing.T) {
	e := newEnv(t)
	hs := &hookStore{Store: e.store}
	srv := startOn(t, hs).srv
	ctx := context.Background()
	c := &token.Claims{ID: "x", Subject: e.alice.ID, IssuedAt: token.At(time.Now().Add(-time.Minute))}
	hs.hook = func() {
		if err := srv.RevokeSubject(ctx, e.alice.ID); err != nil {
			t.Error(err)
		}
	}
	if err := srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := srv.Revoked(ctx, c); !r {
		t.Fatal("the subject revocation made during a reload is lost")
	}
}

// Entries learnt only from the publisher survive reloads until their Until.
func TestReloadKeepsPublishedEntriesUntilTheyExpire(t *testing.T) {
	list := memoryList(t)
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := newEnv(t, func(c *authserver.Config) { c.Revocations = list; c.Now = clock })
	ctx := context.Background()
	start := time.Now()
	c := &token.Claims{ID: "y", Subject: "carol", ClientID: "other", IssuedAt: token.At(start.Add(-time.Minute))}
	for _, en := range []revocation.Entry{
		{Kind: revocation.Subject, Value: "carol", IssuedBefore: start, Until: start.Add(time.Hour)},
		{Kind: revocation.Token, Value: "z", Until: start.Add(time.Hour)},
	} {
		if err := list.Add(ctx, en); err != nil {
			t.Fatal(err)
		}
	}
	z := &token.Claims{ID: "z", Subject: "dan", IssuedAt: token.At(start)}
	if err := e.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.srv.Revoked(ctx, c); !r {
		t.Fatal("a subject entry received from the publisher is dropped by a reload")
	}
	if r, _ := e.srv.Revoked(ctx, z); !r {
		t.Fatal("a token entry received from the publisher is dropped by a reload")
	}
	skew.Store(int64(2 * time.Hour))
	if err := e.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.srv.Revoked(ctx, c); r {
		t.Fatal("an expired subject entry is kept after a reload")
	}
	if r, _ := e.srv.Revoked(ctx, z); r {
		t.Fatal("an expired token entry is kept after a reload")
	}
}
