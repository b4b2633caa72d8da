package authserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/revocation"
)

// RevocationPublisher receives every revocation the server records, so that
// the services that verify tokens themselves learn of it: a
// *revocation.List (NewRedis pushes it to every subscribed process). Add
// must apply the entry, or return an error that says it could not.
type RevocationPublisher interface {
	Add(ctx context.Context, e revocation.Entry) error
}

// revocationSubscriber is the optional ability of a publisher to report
// entries added elsewhere (another auth server instance, `gatehouse token
// revoke`); the server applies them to its own deny list at once instead
// of at its next reload. *revocation.List has it.
type revocationSubscriber interface {
	OnRevoke(f func(revocation.Entry)) (remove func())
}

// errNotPublished marks an error of a revocation that was stored and
// applied here but not published.
var errNotPublished = errors.New("authserver: revocation stored but not published")

// publish hands r to Config.Revocations, if any.
func (s *Server) publish(ctx context.Context, r identity.Revocation) error {
	if s.cfg.Revocations == nil {
		return nil
	}
	if err := s.cfg.Revocations.Add(ctx, r); err != nil {
		s.unpublished.Store(true) // a later reload publishes it
		return fmt.Errorf("%w: %w", errNotPublished, err)
	}
	return nil
}

// publisherStats is the optional ability of a publisher to report its
// state: *revocation.List has it. Resyncs moves when the subscription was
// lost and made again, as it is when Redis restarts (perhaps without its
// data); Synced says whether Redis answers now.
type publisherStats interface {
	Stats() revocation.Stats
}

// republishTimeout bounds a republication started by a reload.
const republishTimeout = time.Minute

// startPublishing re-adds the stored, unexpired revocations to
// Config.Revocations (a Redis that restarted without persistence gets them
// back; processes that start later load them from Redis) and subscribes
// the server's own deny list to the entries added elsewhere. A failure to
// re-add is logged, not fatal: the entries stay in the store, and a later
// reload retries (see maybeRepublish).
func (s *Server) startPublishing(ctx context.Context) {
	p := s.cfg.Revocations
	if p == nil {
		return
	}
	if sub, ok := p.(revocationSubscriber); ok {
		sub.OnRevoke(s.applyEntry)
	}
	if rn, ok := p.(resyncNotifier); ok {
		// Redis came back (perhaps empty): publish what was stored while it
		// was away now, not at the next reload, so that the services that
		// resynced from it refuse those tokens again within moments.
		rn.OnResync(func() {
			go func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), republishTimeout)
				defer cancel()
				if w, ok := p.(syncWaiter); ok {
					if w.WaitSynced(rctx) != nil {
						return
					}
				}
				s.maybeRepublish(rctx)
			}()
		})
	}
	s.republishStored(ctx)
}

// resyncNotifier is the optional ability of a publisher to report that it
// reloaded from Redis after a loss (see revocation.List.OnResync).
type resyncNotifier interface {
	OnResync(f func()) (remove func())
}

// syncWaiter is the optional ability of a publisher to wait until it is
// synced (revocation.List.WaitSynced).
type syncWaiter interface {
	WaitSynced(ctx context.Context) error
}

// republishStored re-adds the stored, unexpired revocations to
// Config.Revocations; a failure leaves s.unpublished set, for a later
// reload to retry.
func (s *Server) republishStored(ctx context.Context) {
	p := s.cfg.Revocations
	// Taken first: a resync during the republication triggers another.
	if ps, ok := p.(publisherStats); ok {
		s.pubResyncs.Store(ps.Stats().Resyncs)
	}
	s.unpublished.Store(true)
	revs, err := s.store.ListRevocations(ctx, s.now())
	if err != nil {
		s.log.WarnContext(ctx, "could not read the stored revocations to publish them; a later reload retries", "error", err)
		return
	}
	for i, r := range revs {
		// The first failure ends the loop: Redis is most likely down, and
		// each further Add would wait for its own timeout.
		if err := p.Add(ctx, r); err != nil {
			s.log.WarnContext(ctx, "stored revocations could not be published; they stay in the store and a later reload publishes them",
				"published", i, "total", len(revs), "error", err)
			return
		}
	}
	s.unpublished.Store(false)
}

// maybeRepublish re-adds the stored revocations when a previous attempt
// failed, or when the publisher resynced since the last one (Redis may
// have restarted without its data, and no process would have the entries
// made before). It waits for a publisher that reports itself synced, so
// that a Redis that stays down costs no timeout per reload.
func (s *Server) maybeRepublish(ctx context.Context) {
	p := s.cfg.Revocations
	if p == nil {
		return
	}
	need := s.unpublished.Load()
	if ps, ok := p.(publisherStats); ok {
		st := ps.Stats()
		if !st.Synced {
			return
		}
		need = need || st.Resyncs != s.pubResyncs.Load()
	}
	if !need || !s.republishing.CompareAndSwap(false, true) {
		return
	}
	defer s.republishing.Store(false)
	s.republishStored(ctx)
}

// applyEntry applies an entry received from the publisher to the server's
// own deny list.
func (s *Server) applyEntry(e revocation.Entry) {
	// The publisher's hook runs on its goroutine: the deny list is
	// another list (New makes sure), so adding to it is allowed.
	if err := s.deny.Add(context.Background(), e); err != nil {
		s.log.Warn("a revocation from the publisher is malformed; skipped", "kind", string(e.Kind), "error", err)
	}
}
