package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

// replaceForeignKeys replaces the signing keys of the demo's store when
// they do not open under the demo's secret: sealed under the secret of
// another data folder (a --postgres schema the demo made, started again
// with another --data), or after the secret file was deleted. The demo
// reseeds its store at every start; its signing key is part of that, and
// tokens signed before are refused.
func replaceForeignKeys(ctx context.Context, store identity.Store, log *slog.Logger) error {
	_, err := store.ListSigningKeys(ctx)
	if !errors.Is(err, keyseal.ErrUnknownSecret) && !errors.Is(err, keyseal.ErrNotAuthentic) {
		return nil // they open, or authserver.New reports the error
	}
	log.Warn("the demo's store holds signing keys that the demo's secret does not open (sealed in another data folder?): they are replaced by a new key", "error", err)
	now := time.Now()
	if _, _, err := authserver.RotateKey(ctx, store, keys.Default, now, 0); err != nil {
		return fmt.Errorf("demo: replace the signing keys: %w", err)
	}
	if _, err := store.DeleteSigningKeys(ctx, now.Add(time.Second)); err != nil {
		return fmt.Errorf("demo: replace the signing keys: %w", err)
	}
	return nil
}
