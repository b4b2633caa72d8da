package revocation

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/token"
)

// fakePeer is a Peer in memory: the test says when it is synced and
// delivers what "the other processes" publish through its feed.
type fakePeer struct {
	feed      Feed
	synced    atomic.Bool
	published []Entry
	mu        sync.Mutex
}

func (p *fakePeer) Publish(_ context.Context, e Entry, _ time.Time) (Entry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = append(p.published, e)
	return e, nil
}
func (p *fakePeer) Synced() bool                     { return p.synced.Load() }
func (p *fakePeer) WaitSynced(context.Context) error { return nil }
func (p *fakePeer) Stats() Stats                     { return Stats{Synced: p.synced.Load()} }
func (p *fakePeer) Close() error                     { return nil }

// resync stands for a reload after a loss that finds entries.
func (p *fakePeer) resync(entries ...Entry) {
	p.feed.Receive(entries...)
	p.synced.Store(true)
	p.feed.Resynced()
}

func newShared(t *testing.T, mode FailureMode) (*List, *fakePeer) {
	t.Helper()
	p := &fakePeer{}
	l, err := NewShared(func(f Feed) (Peer, error) { p.feed = f; return p, nil }, mode)
	if err != nil {
		t.Fatal(err)
	}
	return l, p
}

// A check that reads a stale local list and then finds the list synced
// (a resync that loaded the entry completed in between) must not answer
// "not revoked": it answers the failure mode, or the entry.
func TestRevokedReadsSyncedBeforeTheLocalList(t *testing.T) {
	l, p := newShared(t, FailClosed)
	now := time.Now()
	l.betweenReads = func() { p.resync(BySubject("alice", now, now.Add(time.Hour))) }
	c := &token.Claims{ID: "j", Subject: "alice", IssuedAt: token.At(now.Add(-time.Minute))}
	revoked, err := l.Revoked(context.Background(), c)
	l.betweenReads = nil
	if !revoked && err == nil {
		t.Fatal("a check racing a resync answered not revoked, without error, for a revoked token")
	}
}

// A shared list answers by its failure mode until its peer is synced, and
// publishes through the peer.
func TestSharedFollowsThePeer(t *testing.T) {
	ctx := context.Background()
	c := &token.Claims{ID: "j", Subject: "bob", IssuedAt: token.At(time.Now().Add(-time.Minute))}
	l, p := newShared(t, FailClosed)
	if _, err := l.Revoked(ctx, c); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("closed, not synced: %v, want ErrUnavailable", err)
	}
	resyncs := 0
	defer l.OnResync(func() { resyncs++ })()
	p.resync()
	if r, err := l.Revoked(ctx, c); r || err != nil || resyncs != 1 || !l.Stats().Synced {
		t.Fatalf("synced: %v %v, %d resyncs", r, err, resyncs)
	}
	if err := l.Add(ctx, ByToken("j", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if r, _ := l.Revoked(ctx, c); !r || len(p.published) != 1 {
		t.Fatalf("after Add: revoked %v, %d published", r, len(p.published))
	}

	open, _ := newShared(t, FailOpen)
	if r, err := open.Revoked(ctx, c); r || err != nil || open.Stats().Stale != 1 {
		t.Fatalf("open, not synced: %v %v", r, err)
	}
}

func TestNewSharedRefusesBadArguments(t *testing.T) {
	ok := func(f Feed) (Peer, error) { return &fakePeer{feed: f}, nil }
	for name, call := range map[string]func() (*List, error){
		"nil connect":  func() (*List, error) { return NewShared(nil, FailClosed) },
		"unknown mode": func() (*List, error) { return NewShared(ok, FailureMode(7)) },
		"no peer":      func() (*List, error) { return NewShared(func(Feed) (Peer, error) { return nil, nil }, FailClosed) },
		"connect fails": func() (*List, error) {
			return NewShared(func(Feed) (Peer, error) { return nil, errors.New("down") }, FailClosed)
		},
		"nil clock": func() (*List, error) { return NewShared(ok, FailClosed, WithClock(nil)) },
	} {
		if _, err := call(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
