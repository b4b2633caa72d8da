package revocation

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehousehq/gatehouse/token"
)

// ErrUnavailable is what Revoked returns, under FailClosed, while a shared
// list is not known to be complete: its link to the others (the Redis
// subscription) is down or has not resynced yet. A token.Verifier turns it
// into token.ErrUnavailable, which guard and the gateway answer with 503.
var ErrUnavailable = errors.New("revocation: deny list unavailable (not synced with redis)")

// FailureMode is what Revoked answers while a shared list (a Redis list)
// is not synced.
type FailureMode int

const (
	// FailClosed, the default, answers ErrUnavailable for every token the
	// local list does not already revoke: a possibly revoked token never
	// passes, and requests fail with 503 until Redis is back.
	FailClosed FailureMode = iota
	// FailOpen answers from the local list as it was when the subscription
	// was lost: availability is kept, and a token revoked during the outage
	// passes until the resync (or its exp).
	FailOpen
)

// String is the mode's configuration name.
func (m FailureMode) String() string {
	if m == FailOpen {
		return "open"
	}
	return "closed"
}

// List is a deny list of tokens. It implements token.Revoker: a check is a
// few map lookups in memory and never waits for the network. It is safe
// for concurrent use.
type List struct {
	now  func() time.Time
	mode FailureMode
	idx  *index
	// peer is nil for a memory list.
	peer Peer

	hookMu      sync.Mutex
	hooks       []*hook
	resyncHooks []*resyncHook

	unavailable, stale atomic.Uint64

	// betweenReads runs in Revoked between the read of Synced and that of
	// the local list (tests only).
	betweenReads func()
}

type hook struct{ f func(Entry) }

type resyncHook struct{ f func() }

var _ token.Revoker = (*List)(nil)

// Stats are a List's counters.
type Stats struct {
	// Entries is how many entries the local list holds (expired ones
	// included until they are pruned).
	Entries int
	// Synced reports whether the list is complete now: always true in
	// memory; for a shared list, its link (the Redis subscription) is
	// live and resynced.
	Synced bool
	// Resyncs counts full reloads of a shared list (the first one
	// included).
	Resyncs uint64
	// Losses counts lost subscriptions and failed resyncs.
	Losses uint64
	// Received counts entries received from other processes.
	Received uint64
	// Published counts entries published (written to Redis) by Add.
	Published uint64
	// Errors counts failed calls of the shared list (Redis commands).
	Errors uint64
	// Unavailable counts checks answered ErrUnavailable (FailClosed).
	Unavailable uint64
	// Stale counts checks answered from a list that was not synced
	// (FailOpen).
	Stale uint64
}

// NewMemory returns a deny list in this process only, for one machine. A
// list that several processes share is [NewShared]'s; package
// revocation/redislist shares one through Redis.
func NewMemory(opts ...Option) (*List, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &List{now: cfg.now, idx: newIndex()}, nil
}

// Revoked reports whether the token with claims c is on the list: its jti,
// or its sub or client_id with an iat not after the entry's IssuedBefore.
// While a shared list is not synced it answers by the failure mode:
// ErrUnavailable (FailClosed), or the local list (FailOpen). A token the
// local list revokes is revoked in either mode.
func (l *List) Revoked(_ context.Context, c *token.Claims) (bool, error) {
	if c == nil {
		return false, errors.New("revocation: nil claims")
	}
	// Synced first: a resync that completes between the two reads must
	// not turn "not revoked in a list that was stale" into "not revoked".
	synced := l.peer == nil || l.peer.Synced()
	if l.betweenReads != nil {
		l.betweenReads()
	}
	if l.idx.revoked(c, l.now) {
		return true, nil
	}
	if !synced {
		if l.mode == FailClosed {
			l.unavailable.Add(1)
			return false, ErrUnavailable
		}
		l.stale.Add(1)
	}
	return false, nil
}

// Add puts e on the list. An entry of the same Kind and Value is merged
// into one that keeps the later IssuedBefore and the later Until; an entry
// whose Until has passed is ignored. A shared list publishes e to the
// others (a Redis list writes it to Redis, which pushes it to every
// process) and applies it here at once; when publishing fails, e still
// applies here, and the error (wrapping ErrUnavailable) says that the
// other processes have not got it: retry, or answer 503.
func (l *List) Add(ctx context.Context, e Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	now := l.now()
	if !now.Before(e.Until) {
		return nil
	}
	var err error
	if l.peer != nil {
		var merged Entry
		merged, err = l.peer.Publish(ctx, e, now)
		if err == nil {
			e = merged
		}
	}
	l.apply(now, e)
	return err
}

// apply merges entries into the index and runs the hooks for those that
// changed it.
func (l *List) apply(now time.Time, entries ...Entry) {
	changed := l.idx.add(now, entries...)
	if len(changed) == 0 {
		return
	}
	l.hookMu.Lock()
	hooks := l.hooks
	l.hookMu.Unlock()
	for _, e := range changed {
		for _, h := range hooks {
			h.f(e)
		}
	}
}

// OnResync registers f to be called after every resync of a shared list:
// at start and whenever its link to the others was lost and made again
// (Redis restarted, perhaps without its data, or the network came back),
// once the list has been reloaded. An auth server uses it to publish
// the revocations it stored while Redis was away at once. f runs on the
// peer's goroutine and must return quickly (start a goroutine for
// I/O); it may not call Add itself. A memory list never resyncs. The
// returned function unregisters f.
func (l *List) OnResync(f func()) (remove func()) {
	h := &resyncHook{f: f}
	l.hookMu.Lock()
	l.resyncHooks = append(slices.Clip(l.resyncHooks), h)
	l.hookMu.Unlock()
	return func() {
		l.hookMu.Lock()
		l.resyncHooks = slices.DeleteFunc(slices.Clone(l.resyncHooks), func(x *resyncHook) bool { return x == h })
		l.hookMu.Unlock()
	}
}

// resynced runs the resync hooks.
func (l *List) resynced() {
	l.hookMu.Lock()
	hooks := l.resyncHooks
	l.hookMu.Unlock()
	for _, h := range hooks {
		h.f()
	}
}

// OnRevoke registers f to be called with every entry that changes the
// local list: added here, received from another process, or found by a
// resync. A guard uses it to drop revoked tokens from its verifier's
// cache:
//
//	list.OnRevoke(func(e revocation.Entry) {
//		switch e.Kind {
//		case revocation.Token:
//			verifier.ForgetID(e.Value)
//		case revocation.Subject:
//			verifier.ForgetSubject(e.Value)
//		}
//	})
//
// f runs synchronously on the goroutine that applies the entry (Add's
// caller, or the peer's goroutine), so it must be quick and must
// not call Add. The returned function unregisters f.
func (l *List) OnRevoke(f func(Entry)) (remove func()) {
	h := &hook{f: f}
	l.hookMu.Lock()
	l.hooks = append(slices.Clip(l.hooks), h)
	l.hookMu.Unlock()
	return func() {
		l.hookMu.Lock()
		defer l.hookMu.Unlock()
		l.hooks = slices.DeleteFunc(slices.Clone(l.hooks), func(x *hook) bool { return x == h })
	}
}

// Entries returns the entries that hold now, in no order.
func (l *List) Entries() []Entry { return l.idx.entries(l.now()) }

// WaitSynced blocks until a shared list has loaded the full list and
// subscribed to changes, or ctx ends; a memory list is always synced.
func (l *List) WaitSynced(ctx context.Context) error {
	if l.peer == nil {
		return nil
	}
	return l.peer.WaitSynced(ctx)
}

// Stats returns the list's counters.
func (l *List) Stats() Stats {
	s := Stats{Entries: l.idx.len(), Synced: true, Unavailable: l.unavailable.Load(), Stale: l.stale.Load()}
	if l.peer != nil {
		ps := l.peer.Stats()
		s.Synced, s.Resyncs, s.Losses, s.Received = ps.Synced, ps.Resyncs, ps.Losses, ps.Received
		s.Published, s.Errors = ps.Published, ps.Errors
	}
	return s
}

// Close disconnects a shared list from the others (a Redis list stops its
// subscription; the client stays open). A closed list answers as one that
// lost its link.
func (l *List) Close() error {
	if l.peer == nil {
		return nil
	}
	return l.peer.Close()
}
