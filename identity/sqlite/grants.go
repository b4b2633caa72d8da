package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

const codeColumns = `hash, client_id, user_id, redirect_uri, scope, audience_json, nonce, code_challenge,
	code_challenge_method, auth_time, expires_at, used_at, family_id, issued_jti, dpop_jkt`

func scanCode(row scanner) (*identity.AuthCode, error) {
	var c identity.AuthCode
	err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.RedirectURI, &c.Scope, listField{&c.Audience}, &c.Nonce,
		&c.CodeChallenge, &c.CodeChallengeMethod, timeField{&c.AuthTime}, timeField{&c.ExpiresAt}, timeField{&c.UsedAt},
		&c.FamilyID, &c.IssuedJTI, &c.DPoPJKT)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// SaveCode implements [identity.Codes].
func (s *Store) SaveCode(ctx context.Context, c *identity.AuthCode) error {
	if c.Hash == "" || c.ExpiresAt.IsZero() {
		return errors.New("sqlite: save code: empty hash or expiry")
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO auth_codes (`+codeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.ClientID, c.UserID, c.RedirectURI, c.Scope, list(c.Audience), c.Nonce, c.CodeChallenge,
		c.CodeChallengeMethod, ms(c.AuthTime), ms(c.ExpiresAt), ms(c.UsedAt), c.FamilyID, c.IssuedJTI, c.DPoPJKT)
	if err != nil {
		return wrap("save code", err)
	}
	return nil
}

// ConsumeCode implements [identity.Codes].
func (s *Store) ConsumeCode(ctx context.Context, hash string, now time.Time) (*identity.AuthCode, error) {
	now = stamp(now)
	var c *identity.AuthCode
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanCode(tx.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM auth_codes WHERE hash = ?`, hash))
		switch {
		case err != nil:
			return err
		case !c.UsedAt.IsZero():
			return identity.ErrCodeUsed
		case !now.Before(c.ExpiresAt):
			return identity.ErrExpired
		}
		_, err = tx.ExecContext(ctx, `UPDATE auth_codes SET used_at = ? WHERE hash = ?`, ms(now), hash)
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
	res, err := s.w.ExecContext(ctx, `UPDATE auth_codes SET family_id = ?, issued_jti = ? WHERE hash = ?`, familyID, jti, hash)
	if err == nil {
		err = affected(res, 1)
	}
	if err != nil {
		return wrap("set code issued", err)
	}
	return nil
}

const refreshColumns = `hash, family_id, client_id, subject, scope, audience_json, auth_time, created_at, expires_at, used_at,
	parent_hash, sealed, dpop_jkt`

func scanRefresh(row scanner) (*identity.RefreshToken, error) {
	var t identity.RefreshToken
	err := row.Scan(&t.Hash, &t.FamilyID, &t.ClientID, &t.Subject, &t.Scope, listField{&t.Audience},
		timeField{&t.AuthTime}, timeField{&t.CreatedAt}, timeField{&t.ExpiresAt}, timeField{&t.UsedAt}, &t.Parent, &t.Sealed, &t.DPoPJKT)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// insertRefresh stores t and its family, unless the family exists.
func insertRefresh(ctx context.Context, tx *sql.Tx, t *identity.RefreshToken) error {
	if t.Hash == "" || t.FamilyID == "" || t.ExpiresAt.IsZero() {
		return errors.New("empty hash, family or expiry")
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_families (id, subject, client_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, t.FamilyID, t.Subject, t.ClientID, ms(t.CreatedAt))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO refresh_tokens (`+refreshColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.FamilyID, t.ClientID, t.Subject, t.Scope, list(t.Audience), ms(t.AuthTime), ms(t.CreatedAt),
		ms(t.ExpiresAt), ms(t.UsedAt), t.Parent, t.Sealed, t.DPoPJKT)
	return err
}

// SaveRefreshToken implements [identity.RefreshTokens].
func (s *Store) SaveRefreshToken(ctx context.Context, t *identity.RefreshToken) error {
	rt := *t
	if rt.CreatedAt.IsZero() {
		rt.CreatedAt = stamp(time.Time{})
	}
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return insertRefresh(ctx, tx, &rt) }); err != nil {
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
// of the writing connection, which BEGIN IMMEDIATE serializes with every
// other write, so that what it reads stays locked until it ends.
func (s *Store) inRotation(ctx context.Context, f func(identity.RotationTx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return f(rotationTx{tx}) })
}

// rotationTx is an [identity.RotationTx] on a transaction of the store.
type rotationTx struct{ tx *sql.Tx }

// LockRefreshToken implements [identity.RotationTx]; the transaction holds
// the database's write lock already (BEGIN IMMEDIATE).
func (r rotationTx) LockRefreshToken(ctx context.Context, hash string) (*identity.RefreshToken, error) {
	t, err := scanRefresh(r.tx.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, identity.ErrNotFound
	}
	return t, err
}

// LockFamily implements [identity.RotationTx].
func (r rotationTx) LockFamily(ctx context.Context, familyID string) (bool, error) {
	var revokedAt int64
	err := r.tx.QueryRowContext(ctx, `SELECT revoked_at FROM refresh_families WHERE id = ?`, familyID).Scan(&revokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return revokedAt != 0, err
}

// RevokeFamily implements [identity.RotationTx].
func (r rotationTx) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	return revokeFamily(ctx, r.tx, familyID, now)
}

// MarkRefreshUsed implements [identity.RotationTx].
func (r rotationTx) MarkRefreshUsed(ctx context.Context, hash string, now time.Time) error {
	_, err := r.tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE hash = ?`, ms(now), hash)
	return err
}

// InsertRefreshToken implements [identity.RotationTx].
func (r rotationTx) InsertRefreshToken(ctx context.Context, t *identity.RefreshToken) error {
	return insertRefresh(ctx, r.tx, t)
}

// RefreshTokenByHash implements [identity.RefreshTokens].
func (s *Store) RefreshTokenByHash(ctx context.Context, hash string) (*identity.RefreshToken, error) {
	t, err := scanRefresh(s.r.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE hash = ?`, hash))
	if err != nil {
		return nil, wrap("refresh token by hash", err)
	}
	return t, nil
}

// RefreshTokenByParent implements [identity.RefreshTokens].
func (s *Store) RefreshTokenByParent(ctx context.Context, parentHash string) (*identity.RefreshToken, error) {
	if parentHash == "" {
		return nil, wrap("refresh token by parent", sql.ErrNoRows)
	}
	t, err := scanRefresh(s.r.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM refresh_tokens WHERE parent_hash = ?`, parentHash))
	if err != nil {
		return nil, wrap("refresh token by parent", err)
	}
	return t, nil
}

// revokeFamily marks a family revoked at now, creating its row when
// missing; an earlier revocation stands.
func revokeFamily(ctx context.Context, tx interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, familyID string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_families (id, created_at, revoked_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET revoked_at = excluded.revoked_at WHERE revoked_at = 0`,
		familyID, ms(now), ms(now))
	return err
}

// RevokeFamily implements [identity.RefreshTokens].
func (s *Store) RevokeFamily(ctx context.Context, familyID string, now time.Time) error {
	if err := revokeFamily(ctx, s.w, familyID, stamp(now)); err != nil {
		return wrap("revoke family", err)
	}
	return nil
}

// RevokeSubjectFamilies implements [identity.RefreshTokens].
func (s *Store) RevokeSubjectFamilies(ctx context.Context, subject string, now time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE refresh_families SET revoked_at = ? WHERE subject = ? AND revoked_at = 0`,
		ms(stamp(now)), subject)
	if err != nil {
		return wrap("revoke subject families", err)
	}
	return nil
}

// RevokeClientFamilies implements [identity.RefreshTokens].
func (s *Store) RevokeClientFamilies(ctx context.Context, clientID string, now time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE refresh_families SET revoked_at = ? WHERE client_id = ? AND revoked_at = 0`,
		ms(stamp(now)), clientID)
	if err != nil {
		return wrap("revoke client families", err)
	}
	return nil
}

// FamilyRevoked implements [identity.RefreshTokens].
func (s *Store) FamilyRevoked(ctx context.Context, familyID string) (bool, error) {
	var revokedAt int64
	err := s.r.QueryRowContext(ctx, `SELECT revoked_at FROM refresh_families WHERE id = ?`, familyID).Scan(&revokedAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, wrap("family revoked", err)
	}
	return revokedAt != 0, nil
}

// PruneGrants implements [identity.GrantPruner].
func (s *Store) PruneGrants(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM auth_codes WHERE expires_at < ?`,
			`DELETE FROM refresh_tokens WHERE expires_at < ?`,
			`DELETE FROM pushed_requests WHERE expires_at < ?`,
		} {
			res, err := tx.ExecContext(ctx, q, ms(cutoff))
			if err != nil {
				return err
			}
			c, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += c
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM refresh_families WHERE created_at < ?
			AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id)`, ms(cutoff))
		return err
	})
	if err != nil {
		return 0, wrap("prune grants", err)
	}
	return int(n), nil
}
