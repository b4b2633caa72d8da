package revocation

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Option configures a List.
type Option interface{ apply(*config) error }

type config struct {
	now         func() time.Time
	mode        FailureMode
	prefix      string
	timeout     time.Duration
	healthCheck time.Duration
	log         *slog.Logger
	// redisOnly names the first Redis-only option given, which a memory
	// list rejects.
	redisOnly string
}

func defaults() config {
	return config{
		now:         time.Now,
		prefix:      "gatehouse:revocation",
		timeout:     time.Second,
		healthCheck: time.Second,
		log:         slog.New(slog.DiscardHandler),
	}
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

func redisOption(name string, f func(*config) error) Option {
	return option(func(c *config) error {
		if c.redisOnly == "" {
			c.redisOnly = name
		}
		return f(c)
	})
}

// WithClock sets the clock that expires entries, for tests (default
// time.Now).
func WithClock(now func() time.Time) Option {
	return option(func(c *config) error {
		if now == nil {
			return errors.New("revocation: nil clock")
		}
		c.now = now
		return nil
	})
}

// WithFailureMode sets what Revoked answers while a Redis list is not
// synced (default FailClosed).
func WithFailureMode(m FailureMode) Option {
	return redisOption("WithFailureMode", func(c *config) error {
		if m != FailClosed && m != FailOpen {
			return fmt.Errorf("revocation: unknown failure mode %d", m)
		}
		c.mode = m
		return nil
	})
}

// WithPrefix sets the prefix of the Redis keys and channel (default
// "gatehouse:revocation"); every process that shares a deny list uses the
// same prefix. It may not contain braces or spaces.
func WithPrefix(prefix string) Option {
	return redisOption("WithPrefix", func(c *config) error {
		if prefix == "" || strings.ContainsAny(prefix, "{} \t\r\n") {
			return fmt.Errorf("revocation: prefix %q: empty, or has braces or spaces", prefix)
		}
		c.prefix = prefix
		return nil
	})
}

// WithTimeout bounds each Redis call of Add, and of a resync four times
// over (default 1s).
func WithTimeout(d time.Duration) Option {
	return redisOption("WithTimeout", func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("revocation: timeout %s is not positive", d)
		}
		c.timeout = d
		return nil
	})
}

// WithHealthCheck sets how long the subscription may be silent before a
// PING checks it (default 1s). A silently lost connection is found within
// twice that; until then, checks answer from the local list.
func WithHealthCheck(d time.Duration) Option {
	return redisOption("WithHealthCheck", func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("revocation: health check interval %s is not positive", d)
		}
		c.healthCheck = d
		return nil
	})
}

// WithLogger sets the logger of a Redis list (default: none): lost and
// restored subscriptions, failed writes. It logs kinds and counts, never
// subjects or token ids.
func WithLogger(l *slog.Logger) Option {
	return redisOption("WithLogger", func(c *config) error {
		if l == nil {
			return errors.New("revocation: nil logger")
		}
		c.log = l
		return nil
	})
}
