package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehousehq/gatehouse/identity"
)

const codeColumns = `hash, client_id, user_id, redirect_uri, scope, audience, nonce, code_challenge,
	code_challenge_method, auth_time, expires_at, used_at, family_id, issued_jti, dpop_jkt`

func scanCode(row pgx.Row) (*identity.AuthCode, error) {
	var c identity.AuthCode
	err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, &c.Audience, &c.Nonce,
		&c.CodeChallenge, &c.CodeChallengeMethod, timeField{&c.AuthTime}, timeField{&c.ExpiresAt}, timeField{&c.UsedAt},
		&c.FamilyID, &c.IssuedJTI, &c.DPoPJKT)
	if err != nil {
		return nil, err
	}
	c.Audience = list(c.Audience)
	return &c, nil
}

// SaveCode implements [identity.Codes].
func (s *Store) SaveCode(ctx context.Context, c *identity.AuthCode) error {
	if c.Hash == "" || c.ExpiresAt.IsZero() {
		return errors.New("postgres: save code: empty hash or expiry")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO auth_codes (`+codeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, arr(c.Audience), c.Nonce, c.CodeChallenge,
		c.CodeChallengeMethod, ts(c.AuthTime), ts(c.ExpiresAt), ts(c.UsedAt), c.FamilyID, c.IssuedJTI, c.DPoPJKT)
	if err != nil {
		return wrap("save code", err)
	}
	return nil
}

// ConsumeCode implements [identity.Codes].
func (s *Store) ConsumeCode(ctx context.Context, hash string, now time.Time) (*identity.AuthCode, error) {
	now = stamp(now)
	var c *identity.AuthCode
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		// FOR UPDATE: a concurrent redemption waits here, then sees used_at.
		c, err = scanCode(tx.QueryRow(ctx, `SELECT `+codeColumns+` FROM auth_codes WHERE hash = $1 FOR UPDATE`, hash))
		switch {
		case err != nil:
			return err
		case !c.UsedAt.IsZero():
			return identity.ErrCodeUsed
		case !now.Before(c.ExpiresAt):
			return identity.ErrExpired
		}
		_, err = tx.Exec(ctx, `UPDATE auth_codes SET used_at = $1 WHERE hash = $2`, now, hash)
		return err
	})
	switch {
	case errors.Is(err, identity.ErrCodeUsed), errors.Is(err, identity.ErrExpired):
		return c, wrap("consume code", err)
	case err != nil:
		return nil, wrap("consume code", err)
	}
	c.UsedAt = now
	return c, nil
}

// SetCodeIssued implements [identity.Codes].
func (s *Store) SetCodeIssued(ctx context.Context, hash, familyID, jti string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE auth_codes SET family_id = $1, issued_jti = $2 WHERE hash = $3`, familyID, jti, hash)
	if err == nil {
		err = rowsAffected(tag, 1)
	}
	if err != nil {
		return wrap("set code issued", err)
	}
	return nil
}

const refreshColumns = `hash, family_id, client_id, subject, scope, audience, auth_time, created_at, expires_at, used_at,
	parent_hash, sealed, dpop_jkt`

func scanRefresh(row pgx.Row) (*identity.RefreshToken, error) {
	var t identity.RefreshToken
	err := row.Scan(&t.Hash, &t.FamilyID, &t.ClientID, &t.Subject, &t.Scope, &t.Audience,
		timeField{&t.AuthTime}, timeField{&t.CreatedAt}, timeField{&t.ExpiresAt}, timeField{&t.UsedAt}, &t.Parent, &t.Sealed, &t.DPoPJKT)
	if err != nil {
		return nil, err
	}
	t.Audience = list(t.Audience)
	return &t, nil
}

// insertRefresh stores t and its family, unless the family exists.
func insertRefresh(ctx context.Context, tx pgx.Tx, t *identity.RefreshToken) error {
	if t.Hash == "" || t.FamilyID == "" || t.ExpiresAt.IsZero() {
		return errors.New("empty hash, family or expiry")
	}
	_, err := tx.Exec(ctx, `INSERT INTO refresh_families (id, subject, client_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, t.FamilyID, t.Subject, t.ClientID, ts(t.CreatedAt))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		t.Hash, t.FamilyID, t.ClientID, t.Subject, t.Scope, arr(t.Audience), ts(t.AuthTime), ts(t.CreatedAt),
		ts(t.ExpiresAt), ts(t.UsedAt), t.Parent, t.Sealed, t.DPoPJKT)
	return err
}

// SaveRefreshToken implements [identity.RefreshTokens].
func (s *Store) SaveRefreshToken(ctx context.Context, t *identity.RefreshToken) error {
	rt := *t
	if rt.CreatedAt.IsZero() {
		rt.CreatedAt = stamp(time.Time{})
	}
	if err := s.inTx(ctx, func(tx pgx.Tx) error { return insertRefresh(ctx, tx, &rt) }); err != nil {
		return wrap("save refresh token", err)
	}
	t.CreatedAt = rt.CreatedAt
	return nil
}

// RotateRefreshToken implements [identity.RefreshTokens] with the
// rotation policy of package identity over rotationTx.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *identity.RefreshToken, now time.Time) (*identity.RefreshToken, error) {
	old, err := identity.RotateRefresh(ctx, s.inRotation, oldHash, next, stamp(now))
	if err != nil {
		return old, wrap("rotate refresh token", err)
	}
	return old, nil
}

// inRotation is the [identity.RotationRunner] of the store: a transaction
// whose locks are SELECT ... FOR UPDATE, taken in the order every path
// takes them (the token, then its family).
func (s *Store) inRotation(ctx context.Context, f func(identity.RotationTx) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error { return f(rotationTx{tx}) })
}

// rotationTx is an [identity.RotationTx] on a transaction of the store.
type rotationTx struct{ tx pgx.Tx }

// LockRefreshToken implements [identity.RotationTx] with SELECT ... FOR
// UPDATE.
func (r rotationTx) LockRefreshToken(ctx context.Context, hash string) (*identity.RefreshToken, error) {
	t, err := scanRefresh(r.tx.QueryRow(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	return t, err
}

// LockFamily implements [identity.RotationTx] with SELECT ... FOR UPDATE.
func (r rotationTx) LockFamily(ctx context.Context, familyID string) (bool, error) {
	var revoked bool
	err := r.tx.QueryRow(ctx, `SELECT revoked_at IS NOT NULL FROM refresh_families WHERE id = $1 FOR UPDATE`, familyID).Scan(&revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return revoked, err
}

// RevokeFamily implements [identity.RotationTx].
func (r rotationTx) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	return revokeFamily(ctx, r.tx, familyID, now)
}

// MarkRefreshUsed implements [identity.RotationTx].
func (r rotationTx) MarkRefreshUsed(ctx context.Context, hash string, now time.Time) error {
	_, err := r.tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2`, now, hash)
	return err
}

// InsertRefreshToken implements [identity.RotationTx].
func (r rotationTx) InsertRefreshToken(ctx context.Context, t *identity.RefreshToken) error {
	return insertRefresh(ctx, r.tx, t)
}

// RefreshTokenByHash implements [identity.RefreshTokens].
func (s *Store) RefreshTokenByHash(ctx context.Context, hash string) (*identity.RefreshToken, error) {
	t, err := scanRefresh(s.pool.QueryRow(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = $1`, hash))
	if err != nil {
		return nil, wrap("refresh token by hash", err)
	}
	return t, nil
}

// RefreshTokenByParent implements [identity.RefreshTokens].
func (s *Store) RefreshTokenByParent(ctx context.Context, parentHash string) (*identity.RefreshToken, error) {
	if parentHash == "" {
		return nil, wrap("refresh token by parent", pgx.ErrNoRows)
	}
	t, err := scanRefresh(s.pool.QueryRow(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE parent_hash = $1`, parentHash))
	if err != nil {
		return nil, wrap("refresh token by parent", err)
	}
	return t, nil
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// revokeFamily marks a family revoked at now, creating its row when
// missing; an earlier revocation stands.
func revokeFamily(ctx context.Context, db execer, familyID string, now time.Time) error {
	_, err := db.Exec(ctx, `INSERT INTO refresh_families (id, created_at, revoked_at) VALUES ($1, $2, $2)
		ON CONFLICT (id) DO UPDATE SET revoked_at = EXCLUDED.revoked_at WHERE refresh_families.revoked_at IS NULL`,
		familyID, now)
	return err
}

// RevokeFamily implements [identity.RefreshTokens].
func (s *Store) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	if err := revokeFamily(ctx, s.pool, familyID, stamp(now)); err != nil {
		return wrap("revoke family", err)
	}
	return nil
}

// RevokeSubjectFamilies implements [identity.RefreshTokens].
func (s *Store) RevokeSubjectFamilies(ctx context.Context, subject string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE refresh_families SET revoked_at = $1 WHERE subject = $2 AND revoked_at IS NULL`,
		stamp(now), subject)
	if err != nil {
		return wrap("revoke subject families", err)
	}
	return nil
}

// RevokeClientFamilies implements [identity.RefreshTokens].
func (s *Store) RevokeClientFamilies(ctx context.Context, clientID string, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE refresh_families SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL`,
		stamp(now), clientID)
	if err != nil {
		return wrap("revoke client families", err)
	}
	return nil
}

// FamilyRevoked implements [identity.RefreshTokens].
func (s *Store) FamilyRevoked(ctx context.Context, familyID string) (bool, error) {
	var revoked bool
	err := s.pool.QueryRow(ctx, `SELECT revoked_at IS NOT NULL FROM refresh_families WHERE id = $1`, familyID).Scan(&revoked)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, wrap("family revoked", err)
	}
	return revoked, nil
}

// PruneGrants implements [identity.GrantPruner].
func (s *Store) PruneGrants(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM auth_codes WHERE expires_at < $1`,
			`DELETE FROM refresh_tokens WHERE expires_at < $1`,
			`DELETE FROM pushed_requests WHERE expires_at < $1`,
		} {
			tag, err := tx.Exec(ctx, q, trunc(cutoff))
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		_, err := tx.Exec(ctx, `DELETE FROM refresh_families f WHERE created_at < $1
			AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id)`, trunc(cutoff))
		return err
	})
	if err != nil {
		return 0, wrap("prune grants", err)
	}
	return int(n), nil
}
