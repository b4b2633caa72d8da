package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// pruneEvery is how often 'gatehouse serve' drops what has expired.
const pruneEvery = time.Hour

// prune drops expired revocations, codes and refresh tokens now and then
// until ctx is done, so that the store does not grow forever. A rotated
// refresh token is kept until it expires: reuse detection needs it.
func prune(ctx context.Context, st identity.Store, log *slog.Logger) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		now := time.Now()
		if n, err := st.PruneRevocations(ctx, now); err != nil {
			if ctx.Err() == nil {
				log.Warn("pruning expired revocations failed", "error", err)
			}
		} else if n > 0 {
			log.Info("pruned expired revocations", "count", n)
		}
		if gp, ok := st.(identity.GrantPruner); ok {
			if n, err := gp.PruneGrants(ctx, now); err != nil {
				if ctx.Err() == nil {
					log.Warn("pruning expired codes and refresh tokens failed", "error", err)
				}
			} else if n > 0 {
				log.Info("pruned expired codes and refresh tokens", "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
