package token

import (
	"errors"
	"fmt"
)

// The kinds of verification failure. Every error a [Verifier] returns wraps
// exactly one of them; branch with errors.Is. None of them ever carries the
// token or any of its unverified content.
var (
	// ErrTooLarge: the token exceeds the size limit.
	ErrTooLarge = errors.New("token too large")
	// ErrMalformed: not a strict compact JWS, bad base64url or JSON, a claim
	// of the wrong JSON type.
	ErrMalformed = errors.New("malformed token")
	// ErrUnsupported: a header the verifier refuses to act on: crit, b64,
	// jku, x5u, x5c, jwk, a nested JWT or a JWE.
	ErrUnsupported = errors.New("unsupported token header")
	// ErrUnknownKey: no configured key has the token's kid.
	ErrUnknownKey = errors.New("unknown signing key")
	// ErrAlgorithm: the header's alg is not allowed or is not the key's algorithm.
	ErrAlgorithm = errors.New("algorithm not allowed")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("bad signature")
	// ErrType: the typ header is not the one required.
	ErrType = errors.New("wrong token type")
	// ErrIssuer: iss is not the expected issuer.
	ErrIssuer = errors.New("wrong issuer")
	// ErrAudience: aud does not contain the expected audience.
	ErrAudience = errors.New("wrong audience")
	// ErrExpired: exp has passed (beyond the leeway).
	ErrExpired = errors.New("token expired")
	// ErrNotYetValid: nbf or iat lies in the future (beyond the leeway).
	ErrNotYetValid = errors.New("token not yet valid")
	// ErrMissingClaim: a required claim is absent.
	ErrMissingClaim = errors.New("required claim missing")
	// ErrRevoked: the revocation hook reports the token revoked.
	ErrRevoked = errors.New("token revoked")
	// ErrUnavailable: the token could not be checked (key source or
	// revocation list unreachable). Not the caller's fault: answer 503.
	ErrUnavailable = errors.New("token could not be checked")
)

// Error is a verification failure: a kind (one of the Err* values) and a
// reason safe to show to the client; it never quotes the token.
type Error struct {
	Kind   error
	Reason string
	cause  error
}

// Error describes the refusal without the token's contents.
func (e *Error) Error() string {
	if e.Reason == "" {
		return "token: " + e.Kind.Error()
	}
	return "token: " + e.Kind.Error() + ": " + e.Reason
}

// Cause returns the internal cause (a key source or revocation failure),
// or nil. It is for logs, not for answers to clients.
func (e *Error) Cause() error { return e.cause }

// Unwrap returns the kind and the internal cause, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Kind, e.cause}
	}
	return []error{e.Kind}
}

func fail(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

// RFC 6750 §3.1 error codes.
const (
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
	CodeInvalidRequest    = "invalid_request"
)

// ErrorCode maps a verification error to the RFC 6750 error code and the HTTP
// status to answer with: 401 invalid_token for every refusal of the token,
// 503 with no code when the token could not be checked.
func ErrorCode(err error) (code string, status int) {
	if errors.Is(err, ErrUnavailable) {
		return "", 503
	}
	return CodeInvalidToken, 401
}
