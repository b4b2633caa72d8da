package authserver

import (
	"context"
	"errors"
	"fmt"

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

// entryOf converts a stored revocation to a deny-list entry.
func entryOf(r identity.Revocation) revocation.Entry {
	return revocation.Entry{Kind: revocation.Kind(r.Kind), Value: r.Value, IssuedBefore: r.IssuedBefore, Until: r.Until}
}

// publish hands r to Config.Revocations, if any.
func (s *Server) publish(ctx context.Context, r identity.Revocation) error {
	if s.cfg.Revocations == nil {
		return nil
	}
	if err := s.cfg.Revocations.Add(ctx, entryOf(r)); err != nil {
		return fmt.Errorf("%w: %w", errNotPublished, err)
	}
	return nil
}

// startPublishing re-adds the stored, unexpired revocations to
// Config.Revocations (a Redis that restarted without persistence gets them
// back; processes that start later load them from Redis) and subscribes
// the server's own deny list to the entries added elsewhere. A failure to
// re-add is logged, not fatal: the entries stay in the store, and the next
// start or revocation retries.
func (s *Server) startPublishing(ctx context.Context) {
	p := s.cfg.Revocations
	if p == nil {
		return
	}
	if sub, ok := p.(revocationSubscriber); ok {
		sub.OnRevoke(s.applyEntry)
	}
	revs, err := s.store.ListRevocations(ctx, s.now())
	if err != nil {
		s.log.WarnContext(ctx, "could not read the stored revocations to publish them", "error", err)
		return
	}
	for i, r := range revs {
		// The first failure ends the loop: Redis is most likely down, and
		// each further Add would wait for its own timeout.
		if err := p.Add(ctx, entryOf(r)); err != nil {
			s.log.WarnContext(ctx, "stored revocations could not be published; they stay in the store and the next start publishes them",
				"published", i, "total", len(revs), "error", err)
			return
		}
	}
}

// applyEntry applies an entry received from the publisher to the server's
// own deny list.
func (s *Server) applyEntry(e revocation.Entry) {
	switch e.Kind {
	case revocation.Token, revocation.Subject, revocation.Client:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.denyLocked(string(e.Kind), e.Value, e.IssuedBefore, e.Until)
	}
}
