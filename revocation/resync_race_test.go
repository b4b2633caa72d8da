package revocation

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/redistest"
	"github.com/gatehousehq/gatehouse/token"
)

// A check that reads a stale local list and then finds the list synced
// (a resync that loaded the entry completed in between) must not answer
// "not revoked": it answers the failure mode, or the entry.
func TestRevokedReadsSyncedBeforeTheLocalList(t *testing.T) {
	prefix := redistest.Prefix(t)
	proxy := redistest.NewProxy(t)
	l, err := NewRedis(redistest.ClientVia(t, "race-"+prefix, proxy.Addr()), WithPrefix(prefix), WithFailureMode(FailClosed))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	other, err := NewRedis(redistest.Client(t, "race-other-"+prefix), WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := errors.Join(l.WaitSynced(ctx), other.WaitSynced(ctx)); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	redistest.Eventually(t, 5*time.Second, "the list sees the loss", func() bool { return !l.Stats().Synced })
	now := time.Now()
	if err := other.Add(ctx, BySubject("alice", now, now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	l.betweenReads = func() {
		proxy.Restore()
		if err := l.WaitSynced(ctx); err != nil {
			t.Error(err)
		}
	}
	c := &token.Claims{ID: "j", Subject: "alice", IssuedAt: token.At(now.Add(-time.Minute))}
	revoked, err := l.Revoked(ctx, c)
	l.betweenReads = nil
	if !revoked && err == nil {
		t.Fatal("a check racing a resync answered not revoked, without error, for a revoked token")
	}
}
