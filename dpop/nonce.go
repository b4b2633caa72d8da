package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// MinNonceSecretBytes is the shortest secret [NewNonces] accepts.
const MinNonceSecretBytes = 32

// Nonces are stateless server nonces (RFC 9449 §8, §9): the nonce of a
// time step is an HMAC-SHA256 of the step's number under a secret, so that
// every instance that shares the secret issues and accepts the same ones.
// A nonce is good for its step and the next; and, so that instances whose
// clocks differ by less than a step agree, one step before its own (a
// nonce that an instance ahead of this one handed out). Nonces are
// immutable and safe for concurrent use.
type Nonces struct {
	secret []byte
	step   time.Duration
	now    func() time.Time
}

// NonceOption configures [Nonces].
type NonceOption interface{ applyNonce(*Nonces) error }

type nonceOption func(*Nonces) error

func (f nonceOption) applyNonce(n *Nonces) error { return f(n) }

// WithNonceClock sets the clock of the time steps (default time.Now).
func WithNonceClock(now func() time.Time) NonceOption {
	return nonceOption(func(n *Nonces) error {
		if now == nil {
			return errors.New("dpop: WithNonceClock: nil clock")
		}
		n.now = now
		return nil
	})
}

// NewNonces returns nonces under secret (at least 32 bytes, copied) that
// change every step (at least a second).
func NewNonces(secret []byte, step time.Duration, opts ...NonceOption) (*Nonces, error) {
	if len(secret) < MinNonceSecretBytes {
		return nil, fmt.Errorf("dpop: nonce secret of %d bytes, want at least %d", len(secret), MinNonceSecretBytes)
	}
	if step < time.Second {
		return nil, fmt.Errorf("dpop: nonce step %s, want at least 1s", step)
	}
	n := &Nonces{secret: append([]byte(nil), secret...), step: step, now: time.Now}
	for _, o := range opts {
		if err := o.applyNonce(n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Current returns the nonce of the current step, for the DPoP-Nonce header.
func (n *Nonces) Current() string { return n.of(n.stepAt(n.now())) }

// Valid reports whether nonce is that of the current step, of the one
// before, or of the one after (the current step of a clock that runs
// ahead), comparing each in constant time.
func (n *Nonces) Valid(nonce string) bool {
	s := n.stepAt(n.now())
	b := []byte(nonce)
	prev, cur, next := hmac.Equal(b, []byte(n.of(s-1))), hmac.Equal(b, []byte(n.of(s))), hmac.Equal(b, []byte(n.of(s+1)))
	return prev || cur || next
}

func (n *Nonces) stepAt(t time.Time) int64 { return t.UnixNano() / int64(n.step) }

// of is base64url of the first 16 bytes of HMAC-SHA256(secret, label ‖ step).
func (n *Nonces) of(step int64) string {
	m := hmac.New(sha256.New, n.secret)
	m.Write([]byte("gatehouse dpop nonce\x00"))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(step))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}
