package ratelimit

import (
	"context"
	"errors"
	"time"
)

// A Limiter decides whether n requests under key may pass now, and takes
// them from the key's bucket when they may.
//
// Each of the n requests costs the policy's RequestedTokens tokens, so a
// gateway asks for n = 1 per HTTP request. An error means no decision was
// made: n < 1 ([ErrInvalidCount]) or the caller's context ended. A backend
// that cannot be reached is not an error; the limiter applies its failure
// mode and says so in [Decision.Degraded].
//
// Implementations are safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string, n int) (Decision, error)
}

// Decision is the answer to one [Limiter.Allow] call, with what a server
// needs to write the Retry-After, RateLimit-Policy and RateLimit header
// fields ([WriteHeaders]).
type Decision struct {
	// Allowed reports whether the requests may pass. When true, their
	// tokens have been taken.
	Allowed bool

	// Remaining is how many more requests (of Limit.RequestedTokens tokens
	// each) would be allowed right after this decision. 0 when Degraded.
	Remaining int

	// RetryAfter is, when Allowed is false, how long until the same n
	// requests would be allowed. It is 0 when Allowed is true, and also
	// when waiting cannot help: a policy with BurstCapacity 0, or n
	// requests costing more than the whole burst.
	RetryAfter time.Duration

	// ResetAfter is how long until the bucket is full again if no request
	// is made meanwhile. 0 when the bucket is full, and when Degraded.
	ResetAfter time.Duration

	// Limit is the policy that made the decision.
	Limit Policy

	// Degraded reports that the backend could not be reached and the
	// decision is the limiter's failure mode (fail open: Allowed; fail
	// closed: not Allowed, with a RetryAfter of one second), not a count.
	Degraded bool
}

// ErrInvalidCount is returned by Allow for n < 1.
var ErrInvalidCount = errors.New("ratelimit: n must be at least 1")

// Compile-time checks.
var (
	_ Limiter = (*Memory)(nil)
	_ Limiter = (*Redis)(nil)
)
