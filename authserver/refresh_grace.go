package authserver

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// The refresh rotation grace period. A client whose refresh answer was lost
// (the server died after committing the rotation, a proxy timed out) retries
// with the token it still holds, which is now used: without a grace, that
// looks like reuse and revokes the family, logging the user out. Within
// RefreshTokenGrace of the rotation, the same client presenting the same
// token gets the same answer again (the same access and refresh tokens),
// as long as the token that replaced it is unused and the family stands.
//
// The answer is kept with the new token, sealed with AES-256-GCM under a
// key derived (HKDF-SHA256) from the presented token, which the store keeps
// only as a hash: a copy of the database does not open it, and only the
// holder of the replaced token can have it replayed, inside the grace.
//
// The default, 15 seconds, covers a retry after a client timeout or a
// restart of the server (a few seconds), while an attacker who replays an
// already used token later than that still triggers reuse detection; and
// once the legitimate client uses the new token, the grace ends for good.

// DefaultRefreshTokenGrace is the default of Config.RefreshTokenGrace.
const DefaultRefreshTokenGrace = 15 * time.Second

// refreshGrace is the configured grace; 0 when it is off.
func (s *Server) refreshGrace() time.Duration {
	switch {
	case s.cfg.RefreshTokenGrace < 0:
		return 0
	case s.cfg.RefreshTokenGrace == 0:
		return DefaultRefreshTokenGrace
	}
	return s.cfg.RefreshTokenGrace
}

// sealedAnswer is what a rotation keeps for a retry.
type sealedAnswer struct {
	Response tokenResponse `json:"r"`
	At       int64         `json:"at"` // unix seconds of the answer
}

// graceKey derives the sealing key from the replaced token.
func graceKey(presented, parentHash string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, []byte(presented), []byte(parentHash), "gatehouse refresh rotation grace", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// sealAnswer seals resp for a retry with presented (whose hash is
// parentHash, bound as additional data).
func sealAnswer(presented, parentHash string, resp *tokenResponse, now time.Time) ([]byte, error) {
	aead, err := graceKey(presented, parentHash)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(sealedAnswer{Response: *resp, At: now.Unix()})
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, []byte(parentHash)), nil
}

// openAnswer opens what sealAnswer sealed.
func openAnswer(presented, parentHash string, sealed []byte) (*sealedAnswer, error) {
	aead, err := graceKey(presented, parentHash)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("sealed answer too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(parentHash))
	if err != nil {
		return nil, err
	}
	var a sealedAnswer
	if err := json.Unmarshal(plain, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// retryAnswer returns the answer of the rotation of old when presented
// comes back as a retry of it (identity.RotationRetry: within the grace,
// its successor unused, the family standing) and the sealed answer opens
// with presented; nil otherwise, and the caller goes on to the rotation,
// which finds the reuse.
func (s *Server) retryAnswer(ctx context.Context, presented string, old *identity.RefreshToken) *tokenResponse {
	now := s.now()
	next := identity.RotationRetry(ctx, s.store, old, now, s.refreshGrace())
	if next == nil {
		return nil
	}
	a, err := openAnswer(presented, old.Hash, next.Sealed)
	if err != nil || identity.HashToken(a.Response.RefreshToken) != next.Hash {
		return nil
	}
	resp := a.Response
	resp.ExpiresIn -= max(0, now.Unix()-a.At)
	if resp.ExpiresIn <= 0 {
		return nil
	}
	s.audit(ctx, "refresh_retried", "family", old.FamilyID, "client_id", old.ClientID, "sub", old.Subject)
	return &resp
}
