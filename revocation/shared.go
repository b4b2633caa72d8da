package revocation

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Peer links a shared [List] to the other processes that hold the same
// list: package revocation/redislist's Redis list is one. The List calls
// it; the peer hands what the others publish to the [Feed] it was given
// by [NewShared]. Its methods are safe for concurrent use.
type Peer interface {
	// Publish stores e, checked and not yet expired at now, for the other
	// processes, and returns it merged with what they had of the same
	// Kind and Value. Its error, when the others may not have e, wraps
	// ErrUnavailable.
	Publish(ctx context.Context, e Entry, now time.Time) (Entry, error)
	// Synced reports whether the list is complete now: the link is live,
	// and the full list was reloaded since it was last lost.
	Synced() bool
	// WaitSynced blocks until Synced or ctx ends.
	WaitSynced(ctx context.Context) error
	// Stats returns the peer's counters: Synced, Resyncs, Losses,
	// Received, Published and Errors (the List counts the others).
	Stats() Stats
	// Close ends the link; the List then answers as one that lost it.
	Close() error
}

// Feed is how a [Peer] delivers to its List, from the peer's goroutine.
type Feed struct{ l *List }

// Now is the list's clock.
func (f Feed) Now() time.Time { return f.l.now() }

// Receive merges entries of the other processes (a message, or the full
// list reloaded after a loss) into the list. Expired entries are ignored;
// entries are only ever added, so a snapshot that lacks some loses
// nothing. The list's OnRevoke hooks run for those that change it.
func (f Feed) Receive(entries ...Entry) { f.l.apply(f.l.now(), entries...) }

// Resynced tells the list that the peer has reloaded the full list after
// a subscription (the first, or one after a loss): the OnResync hooks
// run.
func (f Feed) Resynced() { f.l.resynced() }

// NewShared returns a deny list shared with other processes through the
// peer that connect returns; connect is called once, with the feed of the
// new list, and may start the peer's goroutine. mode says what Revoked
// answers while the peer is not synced. Most callers use
// revocation/redislist's New instead.
func NewShared(connect func(Feed) (Peer, error), mode FailureMode, opts ...Option) (*List, error) {
	if connect == nil {
		return nil, errors.New("revocation: NewShared needs a connect function")
	}
	if mode != FailClosed && mode != FailOpen {
		return nil, fmt.Errorf("revocation: unknown failure mode %d", mode)
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	l := &List{now: cfg.now, mode: mode, idx: newIndex()}
	p, err := connect(Feed{l: l})
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, errors.New("revocation: connect returned no peer")
	}
	l.peer = p
	return l, nil
}
