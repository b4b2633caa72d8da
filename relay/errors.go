package relay

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Errors callers branch on with errors.Is. Every error of this package is
// wrapped with context ("relay: exchange for orders: ...") and never contains
// a token: it may name a token's jti, never the token.
var (
	// ErrNoToken: the context carries no caller token (token.NewContext was
	// not called: no guard in front of the handler, or a context that did not
	// come from the request). Nothing was sent.
	ErrNoToken = errors.New("no caller token in the context")
	// ErrTokenExpired: the caller's token expires within the skew, so the
	// downstream service would refuse it, or refuse the token derived from
	// it. Nothing was sent; the caller should answer 401 and let its client
	// renew.
	ErrTokenExpired = errors.New("the caller's token expires within the skew")
	// ErrCircuitOpen: the circuit breaker of the downstream host is open
	// after consecutive failures. Nothing was sent; the call failed fast.
	ErrCircuitOpen = errors.New("circuit breaker open")
	// ErrTimeout: the downstream service sent no response headers within the
	// per-attempt timeout.
	ErrTimeout = errors.New("no response within the timeout")
	// ErrCrossOriginRedirect: the downstream service redirected the call to
	// another scheme, host or port. A token is never sent there (it was
	// issued or relayed for the service that was called); nothing was sent.
	// Call the new location explicitly if it is to be trusted.
	ErrCrossOriginRedirect = errors.New("redirect to another origin")
	// ErrBoundToken: the caller's token is sender-constrained (bound to
	// the caller's DPoP key or client certificate) and [Relay] cannot
	// prove possession of it. Nothing was sent; exchange the token for
	// one bound to this service ([Exchange] with DPoP or MTLS).
	ErrBoundToken = errors.New("the caller's token is bound to the caller's key or certificate")
)

// TokenError is a refusal of the token endpoint: the HTTP status and the
// RFC 6749 §5.2 error code and description. It never holds the response
// body or a token.
type TokenError struct {
	// Grant is the grant that was refused ("token-exchange",
	// "client_credentials").
	Grant string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the RFC 6749 error code (invalid_grant, invalid_client,
	// invalid_scope, invalid_target, ...), "" when the answer had none.
	Code string
	// Description is the error_description, cut to 200 bytes.
	Description string
}

// Error names the grant, the status and the RFC 6749 error; never a token.
func (e *TokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "token endpoint refused the %s grant: HTTP %d", e.Grant, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	return b.String()
}

// jwsLike matches a compact JWS or JWT (a token, a DPoP proof) in a text.
var jwsLike = regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// newTokenError builds a TokenError, cutting the description and removing
// any of the secrets (a token sent in the request) that a careless server
// might echo, and anything shaped like a JWT (a DPoP proof of the request).
func newTokenError(grant string, status int, code, desc string, secrets ...string) *TokenError {
	for _, s := range secrets {
		if s != "" {
			desc = strings.ReplaceAll(desc, s, "[redacted]")
		}
	}
	desc = jwsLike.ReplaceAllString(desc, "[redacted]")
	if len(desc) > 200 {
		desc = desc[:200] + "..."
	}
	return &TokenError{Grant: grant, StatusCode: status, Code: code, Description: desc}
}

// relayErr is the one helper that prefixes and wraps errors of the package.
func relayErr(format string, args ...any) error {
	return fmt.Errorf("relay: "+format, args...)
}
