package authserver

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Health of the store: the backoff of reloads while it fails, and the
// readiness check of the admin listener.

// reloadFirstRetry is the wait after the first failed reload; each further
// failure doubles it, up to Config.KeyReload.
const reloadFirstRetry = time.Second

// reloadBackoff spaces the reloads that requests trigger while the store
// fails: without it every request would retry (and log) at once. The
// fields but retryAt are used under Server.reloadMu.
type reloadBackoff struct {
	retryAt  atomic.Int64  // unix nanoseconds before which no reload is tried
	failures int           // failed reloads in a row
	since    time.Time     // the first failure of the streak
	delay    time.Duration // the wait after the last failure
}

// allowed reports whether a reload may be tried at now.
func (b *reloadBackoff) allowed(now time.Time) bool {
	return now.UnixNano() >= b.retryAt.Load()
}

// reloadFailed notes a failed reload and logs it: one line per failure,
// and the failures are spaced by a backoff that doubles from one second
// up to the reload interval, so an outage logs a handful of lines and
// then one per interval. s.reloadMu is held.
func (s *Server) reloadFailed(ctx context.Context, err error) {
	b, now := &s.reloadBackoff, s.now()
	b.failures++
	if b.failures == 1 {
		b.since = now
		b.delay = min(reloadFirstRetry, s.cfg.KeyReload)
	} else {
		b.delay = min(2*b.delay, s.cfg.KeyReload)
	}
	b.retryAt.Store(now.Add(b.delay).UnixNano())
	attrs := []any{"error", err, "failures", b.failures, "retry_in", b.delay.String()}
	if b.failures == 1 {
		s.log.ErrorContext(ctx, "reload of signing keys and revocations failed; keeping the previous ones", attrs...)
		return
	}
	s.log.WarnContext(ctx, "reload of signing keys and revocations still failing; keeping the previous ones",
		append(attrs, "failing_for", now.Sub(b.since).Round(time.Millisecond).String())...)
}

// reloadSucceeded ends a failure streak, saying so once. s.reloadMu is
// held.
func (s *Server) reloadSucceeded(ctx context.Context) {
	b := &s.reloadBackoff
	if b.failures == 0 {
		return
	}
	s.log.InfoContext(ctx, "reload of signing keys and revocations works again",
		"failures", b.failures, "failed_for", s.now().Sub(b.since).Round(time.Millisecond).String())
	b.failures, b.delay = 0, 0
	b.retryAt.Store(0)
}

// storeCheckTimeout bounds the store query of [Server.CheckStore].
const storeCheckTimeout = 2 * time.Second

// CheckStore runs a cheap query on the store (its signing keys, which every
// instance reads at each reload), within two seconds, for a readiness
// probe: nil when the store answers. The error says why it did not, and
// wraps identity.ErrUnavailable when the store could not be reached.
func (s *Server) CheckStore(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
	defer cancel()
	if _, err := s.store.ListSigningKeys(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("authserver: the store did not answer within %s: %w", storeCheckTimeout, err)
		}
		return fmt.Errorf("authserver: the store does not answer: %w", err)
	}
	return nil
}
