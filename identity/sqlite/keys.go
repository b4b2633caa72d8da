package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

// AddRevocation implements [identity.Revocations].
func (s *Store) AddRevocation(ctx context.Context, r identity.Revocation) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO revocations (kind, value, issued_before, until_at, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, value) DO UPDATE SET
			issued_before = max(issued_before, excluded.issued_before),
			until_at = max(until_at, excluded.until_at)`,
		string(r.Kind), r.Value, ms(r.IssuedBefore), ms(r.Until), ms(stamp(time.Time{})))
	if err != nil {
		return wrap("add revocation", err)
	}
	return nil
}

// ListRevocations implements [identity.Revocations].
func (s *Store) ListRevocations(ctx context.Context, now time.Time) ([]identity.Revocation, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, value, issued_before, until_at FROM revocations
		WHERE until_at > ? ORDER BY kind, value`, ms(now))
	if err != nil {
		return nil, wrap("list revocations", err)
	}
	list, err := collect(rows, func(row scanner) (identity.Revocation, error) {
		var r identity.Revocation
		return r, row.Scan(&r.Kind, &r.Value, timeField{&r.IssuedBefore}, timeField{&r.Until})
	})
	if err != nil {
		return nil, wrap("list revocations", err)
	}
	return list, nil
}

// PruneRevocations implements [identity.Revocations].
func (s *Store) PruneRevocations(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM revocations WHERE until_at <= ?`, ms(now))
	if err != nil {
		return 0, wrap("prune revocations", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("prune revocations", err)
	}
	return int(n), nil
}

// ListSigningKeys implements [identity.SigningKeys].
func (s *Store) ListSigningKeys(ctx context.Context) ([]identity.SigningKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, jwk, created_at, sign_from, retired_at FROM signing_keys
		ORDER BY retired_at = 0 DESC, retired_at DESC, created_at DESC, id`)
	if err != nil {
		return nil, wrap("list signing keys", err)
	}
	keys, err := collect(rows, func(row scanner) (identity.SigningKey, error) {
		var k identity.SigningKey
		return k, row.Scan(&k.ID, &k.JWK, timeField{&k.CreatedAt}, timeField{&k.SignFrom}, timeField{&k.RetiredAt})
	})
	if err != nil {
		return nil, wrap("list signing keys", err)
	}
	for i := range keys {
		if keys[i].JWK, err = s.sealer.Open(keys[i].ID, keys[i].JWK); err != nil {
			return nil, wrap("list signing keys", err)
		}
	}
	return keys, nil
}

// RotateSigningKey implements [identity.SigningKeys].
func (s *Store) RotateSigningKey(ctx context.Context, next identity.SigningKey, now time.Time) error {
	if next.ID == "" || len(next.JWK) == 0 {
		return errors.New("sqlite: rotate signing key: empty id or key")
	}
	now = stamp(now)
	if next.CreatedAt.IsZero() {
		next.CreatedAt = now
	}
	retire := now
	if next.SignFrom.IsZero() {
		next.SignFrom = next.CreatedAt
	} else {
		retire = stamp(next.SignFrom)
	}
	stored, err := s.sealer.Seal(next.ID, next.JWK)
	if err != nil {
		return wrap("rotate signing key", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if s.sealer == nil {
			if err := refuseClearBesideSealed(ctx, tx); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at = 0`, ms(retire)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, jwk, created_at, sign_from) VALUES (?, ?, ?, ?)`,
			next.ID, stored, ms(next.CreatedAt), ms(stamp(next.SignFrom)))
		return err
	})
	if err != nil {
		return wrap("rotate signing key", err)
	}
	return nil
}

// DeleteSigningKeys implements [identity.SigningKeys].
func (s *Store) DeleteSigningKeys(ctx context.Context, retiredBefore time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM signing_keys WHERE retired_at <> 0 AND retired_at < ?`, ms(retiredBefore))
	if err != nil {
		return 0, wrap("delete signing keys", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("delete signing keys", err)
	}
	return int(n), nil
}

// storedKeys reads every row of signing_keys as stored (sealed or clear).
func storedKeys(ctx context.Context, tx *sql.Tx) ([]keyseal.StoredKey, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, jwk FROM signing_keys ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(row scanner) (keyseal.StoredKey, error) {
		var k keyseal.StoredKey
		return k, row.Scan(&k.ID, &k.JWK)
	})
}

// refuseClearBesideSealed fails when a key of the store is sealed: a
// process without the key-encryption secret would add a key in clear.
func refuseClearBesideSealed(ctx context.Context, tx *sql.Tx) error {
	keys, err := storedKeys(ctx, tx)
	if err != nil {
		return err
	}
	return keyseal.RefuseClearBesideSealed(keys)
}

// sealClearKeys seals, in one transaction, the keys stored in clear
// (Open, with a sealer): the migration of a store written before keys were
// sealed, or by a process without the secret.
func (s *Store) sealClearKeys(ctx context.Context) error {
	if s.sealer == nil {
		return nil
	}
	ids, _, err := s.reseal(ctx, true)
	if err != nil {
		return wrap("seal the signing keys stored in clear", err)
	}
	s.sealedAtOpen = ids
	return nil
}

// SealedAtOpen returns the ids of the signing keys that Open found stored
// in clear and sealed (none without [WithKeySealer]).
func (s *Store) SealedAtOpen() []string { return s.sealedAtOpen }

// ResealSigningKeys seals every stored signing key under the current
// secret of the store's key sealer ([WithKeySealer]), in one transaction:
// keys stored in clear or sealed under a previous secret are rewritten,
// keys sealed under the current secret already are opened and kept. A key
// that does not open (sealed under a secret that is not configured, or
// altered) fails the whole, naming it, and changes nothing. It returns the
// ids of the keys rewritten and how many keys are stored.
func (s *Store) ResealSigningKeys(ctx context.Context) (resealed []string, total int, err error) {
	if s.sealer == nil {
		return nil, 0, errors.New("sqlite: reseal signing keys: the store was opened without a key-encryption secret (WithKeySealer)")
	}
	ids, total, err := s.reseal(ctx, false)
	if err != nil {
		return nil, 0, wrap("reseal signing keys", err)
	}
	return ids, total, nil
}

// reseal rewrites the signing keys under the current secret, in one
// transaction: with clearOnly, only those stored in clear.
func (s *Store) reseal(ctx context.Context, clearOnly bool) (ids []string, total int, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		ids = nil
		keys, err := storedKeys(ctx, tx)
		if err != nil {
			return err
		}
		total = len(keys)
		ids, err = s.sealer.ResealAll(keys, clearOnly, func(id string, jwk []byte) error {
			_, err := tx.ExecContext(ctx, `UPDATE signing_keys SET jwk = ? WHERE id = ?`, jwk, id)
			return err
		})
		return err
	})
	return ids, total, err
}
