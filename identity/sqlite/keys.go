package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = ? WHERE retired_at = 0`, ms(retire)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, jwk, created_at, sign_from) VALUES (?, ?, ?, ?)`,
			next.ID, next.JWK, ms(next.CreatedAt), ms(stamp(next.SignFrom)))
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
