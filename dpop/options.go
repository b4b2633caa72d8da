package dpop

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// DefaultAlgorithms are the proof algorithms a [Verifier] accepts unless
// [WithAlgorithms] says otherwise: asymmetric only (RFC 9449 §4.2).
var defaultAlgorithms = []string{"ES256", "ES384", "ES512", "EdDSA", "RS256", "PS256"}

// supportedAlgorithms are those WithAlgorithms may choose from: never HS*
// or none.
var supportedAlgorithms = []string{"ES256", "ES384", "ES512", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

const (
	defaultPast      = 60 * time.Second
	defaultFuture    = 5 * time.Second
	defaultReplayMax = 100_000
	// maxWindow bounds how long a proof may stay acceptable.
	maxWindow = 10 * time.Minute
)

// Option configures a [Verifier].
type Option interface{ apply(*Verifier) error }

type option func(*Verifier) error

func (f option) apply(v *Verifier) error { return f(v) }

// WithReplay sets the cache that refuses a jti seen before (default: a
// [NewMemoryReplay] of 100,000 proofs, this process only). Several
// instances behind one name share one (package dpop/redisreplay).
func WithReplay(c ReplayCache) Option {
	return option(func(v *Verifier) error {
		if c == nil {
			return errors.New("dpop: WithReplay: nil cache")
		}
		v.replay = c
		return nil
	})
}

// WithWindow sets how old (past) and how far in the future (future) a
// proof's iat may be (default 60s and 5s, RFC 9449 §11.1). Each is at most
// 10 minutes; past must be positive.
func WithWindow(past, future time.Duration) Option {
	return option(func(v *Verifier) error {
		if past <= 0 || past > maxWindow || future < 0 || future > maxWindow {
			return fmt.Errorf("dpop: WithWindow(%s, %s): past must be in (0, %s], future in [0, %s]", past, future, maxWindow, maxWindow)
		}
		v.past, v.future = past, future
		return nil
	})
}

// WithAlgorithms sets the accepted proof algorithms (default ES256 ES384
// ES512 EdDSA RS256 PS256). Only asymmetric JWS algorithms are allowed;
// an empty list is an error.
func WithAlgorithms(algs ...string) Option {
	return option(func(v *Verifier) error {
		if len(algs) == 0 {
			return errors.New("dpop: WithAlgorithms: no algorithm")
		}
		for _, a := range algs {
			if !slices.Contains(supportedAlgorithms, a) {
				return fmt.Errorf("dpop: WithAlgorithms: %q is not an asymmetric JWS algorithm this package verifies", a)
			}
		}
		v.algs = slices.Clone(algs)
		return nil
	})
}

// WithNonces sets the server nonces checked when a [Request] asks for one
// (RFC 9449 §8).
func WithNonces(n *Nonces) Option {
	return option(func(v *Verifier) error {
		if n == nil {
			return errors.New("dpop: WithNonces: nil")
		}
		v.nonces = n
		return nil
	})
}

// WithClock sets the clock that iat is checked against (default
// time.Now); the default replay cache uses it too.
func WithClock(now func() time.Time) Option {
	return option(func(v *Verifier) error {
		if now == nil {
			return errors.New("dpop: WithClock: nil clock")
		}
		v.now = now
		return nil
	})
}
