package dpop

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidProof is wrapped by every refusal of a proof: answer
	// invalid_dpop_proof (RFC 9449 §5, §7.1, §12.2). The message gives the
	// reason and never quotes the proof.
	ErrInvalidProof = errors.New("dpop: invalid proof")
	// ErrUseNonce is wrapped by a [*NonceError]: the proof lacks the server
	// nonce, or carries a stale one; answer use_dpop_nonce with the
	// DPoP-Nonce header (RFC 9449 §8, §9).
	ErrUseNonce = errors.New("dpop: a server nonce is required")
	// ErrReplayUnavailable is wrapped when the replay cache could not say
	// whether the proof was seen before: the proof may be a replay, so it
	// is refused, as a server error (503), not as a bad proof.
	ErrReplayUnavailable = errors.New("dpop: replay cache unavailable")
)

// NonceError asks the client to sign its proof again with Nonce, the
// current server nonce (RFC 9449 §8). It wraps [ErrUseNonce].
type NonceError struct {
	// Nonce is the value to send in the DPoP-Nonce response header.
	Nonce string
}

// Error reports that a fresh nonce is needed, without the nonce.
func (e *NonceError) Error() string { return "dpop: the proof must carry the current server nonce" }

// Unwrap returns [ErrUseNonce].
func (e *NonceError) Unwrap() error { return ErrUseNonce }

// invalid returns a refusal that wraps ErrInvalidProof with reason.
func invalid(reason string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidProof, fmt.Sprintf(reason, args...))
}
