package identity

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The refresh-token rotation policy, the same for every engine: an engine
// only stores (RotationTx), and its RotateRefreshToken is RotateRefresh over
// its transactions. A refresh token is used once. Presented, it is checked,
// in this order, under the lock of its row and then of its family's:
//
//  1. unknown: ErrNotFound;
//  2. family revoked: ErrFamilyRevoked (whatever else holds of the token);
//  3. used before: a reuse, so the family is revoked (and that committed)
//     and ErrRefreshReused returned;
//  4. expired (ExpiresAt not after now): ErrExpired;
//  5. otherwise it is marked used and next, of the same family, stored
//     with it (its Parent and its Sealed answer included), in the same
//     transaction.
//
// Of two rotations of one token, the second waits for the first's lock
// and then finds the token used: exactly one wins. A token used before
// may instead be a retry of a rotation whose answer was lost; the caller
// asks RotationRetry first, and only the holder of the presented token
// can open the answer the successor keeps sealed.

// RotationTx is one transaction of a store, as RotateRefresh needs it.
// Its locks hold until the transaction ends.
type RotationTx interface {
	// LockRefreshToken returns the token with hash, used or not, and locks
	// it, so that a concurrent rotation of it waits for this transaction
	// and then sees what it did; ErrNotFound when there is none.
	LockRefreshToken(ctx context.Context, hash string) (*RefreshToken, error)
	// LockFamily reports whether the family is revoked, and locks its row
	// when it has one; false for a family the store does not know.
	LockFamily(ctx context.Context, familyID string) (revoked bool, err error)
	// RevokeFamily marks the family revoked at now, creating its row when
	// missing; an earlier revocation stands.
	RevokeFamily(ctx context.Context, familyID string, now time.Time) error
	// MarkRefreshUsed sets the UsedAt of the token with hash.
	MarkRefreshUsed(ctx context.Context, hash string, now time.Time) error
	// InsertRefreshToken stores t, with its Parent and Sealed, and its
	// family unless that exists; ErrConflict when its hash exists.
	InsertRefreshToken(ctx context.Context, t *RefreshToken) error
}

// RotationRunner runs f in one transaction of a store, committed when f
// returns nil and rolled back otherwise, and returns f's error or the
// commit's.
type RotationRunner func(ctx context.Context, f func(tx RotationTx) error) error

// RotateRefresh is [RefreshTokens.RotateRefreshToken] over the
// transactions of inTx: it checks the token with oldHash as the policy
// above says and replaces it by next, returning the old token. Every
// verdict but ErrNotFound comes with the old token; a failure of the store
// comes with none, and changes nothing. An empty next.FamilyID is set to
// the old token's family (another family is an error) and a zero
// next.CreatedAt to now; next is updated only when the rotation is
// committed. now is the time as the store keeps it (the engine rounds it).
func RotateRefresh(ctx context.Context, inTx RotationRunner, oldHash string, next *RefreshToken, now time.Time) (*RefreshToken, error) {
	n := *next
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	var old *RefreshToken
	var reused bool
	err := inTx(ctx, func(tx RotationTx) error {
		var err error
		old, err = tx.LockRefreshToken(ctx, oldHash)
		if err != nil {
			return fmt.Errorf("lock the token: %w", err)
		}
		revoked, err := tx.LockFamily(ctx, old.FamilyID)
		switch {
		case err != nil:
			return fmt.Errorf("lock the family: %w", err)
		case revoked:
			return ErrFamilyRevoked
		case !old.UsedAt.IsZero():
			reused = true // the revocation is committed
			if err := tx.RevokeFamily(ctx, old.FamilyID, now); err != nil {
				return fmt.Errorf("revoke the family of a reused token: %w", err)
			}
			return nil
		case !now.Before(old.ExpiresAt):
			return ErrExpired
		}
		if n.FamilyID == "" {
			n.FamilyID = old.FamilyID
		} else if n.FamilyID != old.FamilyID {
			return fmt.Errorf("next token is of family %s, not %s", n.FamilyID, old.FamilyID)
		}
		if err := tx.MarkRefreshUsed(ctx, oldHash, now); err != nil {
			return fmt.Errorf("mark the token used: %w", err)
		}
		if err := tx.InsertRefreshToken(ctx, &n); err != nil {
			return fmt.Errorf("store the next token: %w", err)
		}
		return nil
	})
	switch {
	case err == nil && reused:
		return old, ErrRefreshReused
	case errors.Is(err, ErrFamilyRevoked), errors.Is(err, ErrExpired):
		return old, err
	case err != nil:
		return nil, err
	}
	*next = n
	old.UsedAt = now
	return old, nil
}

// RotationReader is what RotationRetry reads of a store.
type RotationReader interface {
	RefreshTokenByParent(ctx context.Context, parentHash string) (*RefreshToken, error)
	FamilyRevoked(ctx context.Context, familyID string) (bool, error)
}

// RotationRetry returns the token that replaced old when presenting old
// again is a retry of its rotation (the answer was lost on its way) rather
// than a reuse, that is when all of these hold, checked in this order:
// grace is positive; old was rotated no longer than grace before now; its
// successor exists, is unused, is of old's family and keeps a sealed
// answer; the family is not revoked. Otherwise, or when a read fails, it
// returns nil, and the rotation that follows finds the reuse. The caller
// opens the successor's Sealed answer with the presented token, and
// treats an answer that does not open as no retry.
func RotationRetry(ctx context.Context, r RotationReader, old *RefreshToken, now time.Time, grace time.Duration) *RefreshToken {
	if grace <= 0 || old.UsedAt.IsZero() || now.Sub(old.UsedAt) > grace {
		return nil
	}
	next, err := r.RefreshTokenByParent(ctx, old.Hash)
	if err != nil || !next.UsedAt.IsZero() || next.FamilyID != old.FamilyID || len(next.Sealed) == 0 {
		return nil
	}
	if revoked, err := r.FamilyRevoked(ctx, old.FamilyID); err != nil || revoked {
		return nil
	}
	return next
}
