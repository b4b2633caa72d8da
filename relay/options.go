package relay

import (
	"time"
)

// Defaults of a [Resilient], the resilience layer of a [Transport].
const (
	// DefaultTimeout bounds each attempt until the response headers arrive.
	DefaultTimeout = 10 * time.Second
	// DefaultRetries is how many times an idempotent call is retried.
	DefaultRetries = 2
	// DefaultBackoff and DefaultMaxBackoff bound the exponential backoff
	// between retries; DefaultJitter varies each delay by up to ±50%.
	DefaultBackoff    = 100 * time.Millisecond
	DefaultMaxBackoff = 2 * time.Second
	DefaultJitter     = 0.5
	// DefaultBreakerFailures consecutive failures of a host open its
	// circuit, for DefaultBreakerDelay.
	DefaultBreakerFailures = 5
	DefaultBreakerDelay    = 30 * time.Second
)

// Option tunes a [Resilient]: given to [NewResilient], or to [NewTransport]
// for the Resilient under its token layer.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	timeout         time.Duration
	retries         int
	backoff         time.Duration
	maxBackoff      time.Duration
	jitter          float64
	breakerFailures uint
	breakerDelay    time.Duration
	tel             telemetry // tracing.go
}

func defaultConfig() config {
	return config{
		timeout: DefaultTimeout, retries: DefaultRetries,
		backoff: DefaultBackoff, maxBackoff: DefaultMaxBackoff, jitter: DefaultJitter,
		breakerFailures: DefaultBreakerFailures, breakerDelay: DefaultBreakerDelay,
	}
}

// WithTimeout bounds each attempt from sending the request until the
// response headers arrive (default DefaultTimeout); an attempt past it
// fails with [ErrTimeout] and counts as a failure of the host. Reading the
// body is bounded by the request context or http.Client.Timeout, which
// also bound the whole call, retries included.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return relayErr("timeout %s must be positive", d)
		}
		c.timeout = d
		return nil
	})
}

// WithRetries sets how many times a call is retried after a transport
// error or a 5xx other than 501 (default DefaultRetries; 0 turns
// retries off). Only idempotent calls are retried — GET, HEAD, OPTIONS,
// PUT, DELETE — and only when their body can be sent again (none, or
// Request.GetBody set, as http.NewRequest does for in-memory bodies). A
// POST is sent once.
func WithRetries(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 0 || n > 10 {
			return relayErr("retries %d is outside 0..10", n)
		}
		c.retries = n
		return nil
	})
}

// WithBackoff sets the exponential backoff between retries: first delay,
// doubling up to max (default DefaultBackoff, DefaultMaxBackoff), and the
// jitter factor that varies each delay randomly by up to ±jitter of it
// (default DefaultJitter), so that callers do not retry in lockstep.
func WithBackoff(first, max time.Duration, jitter float64) Option {
	return optionFunc(func(c *config) error {
		if first <= 0 || max < first {
			return relayErr("backoff %s..%s: need 0 < first <= max", first, max)
		}
		if jitter < 0 || jitter > 1 {
			return relayErr("jitter factor %g is outside 0..1", jitter)
		}
		c.backoff, c.maxBackoff, c.jitter = first, max, jitter
		return nil
	})
}

// WithBreaker tunes the circuit breaker kept per downstream host: failures
// consecutive failures (transport errors, timeouts, 5xx answers) open it,
// and while it is open calls to the host fail at once with
// [ErrCircuitOpen]; after delay one trial call is let through, which
// closes it on success or opens it again (defaults
// DefaultBreakerFailures, DefaultBreakerDelay).
func WithBreaker(failures uint, delay time.Duration) Option {
	return optionFunc(func(c *config) error {
		if failures == 0 {
			return relayErr("breaker failure threshold must be at least 1")
		}
		if delay <= 0 {
			return relayErr("breaker delay %s must be positive", delay)
		}
		c.breakerFailures, c.breakerDelay = failures, delay
		return nil
	})
}
