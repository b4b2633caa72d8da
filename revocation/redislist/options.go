package redislist

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/revocation"
)

// Option configures a Redis list.
type Option interface{ apply(*config) error }

type config struct {
	mode        revocation.FailureMode
	prefix      string
	timeout     time.Duration
	healthCheck time.Duration
	log         *slog.Logger
}

func defaults() config {
	return config{
		prefix:      "gatehouse:revocation",
		timeout:     time.Second,
		healthCheck: time.Second,
		log:         slog.New(slog.DiscardHandler),
	}
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

// WithFailureMode sets what Revoked answers while the list is not synced
// (default revocation.FailClosed).
func WithFailureMode(m revocation.FailureMode) Option {
	return option(func(c *config) error {
		if m != revocation.FailClosed && m != revocation.FailOpen {
			return fmt.Errorf("redislist: unknown failure mode %d", m)
		}
		c.mode = m
		return nil
	})
}

// WithPrefix sets the prefix of the Redis keys and channel (default
// "gatehouse:revocation"); every process that shares a deny list uses the
// same prefix. It may not contain braces or spaces.
func WithPrefix(prefix string) Option {
	return option(func(c *config) error {
		if prefix == "" || strings.ContainsAny(prefix, "{} \t\r\n") {
			return fmt.Errorf("redislist: prefix %q: empty, or has braces or spaces", prefix)
		}
		c.prefix = prefix
		return nil
	})
}

// WithTimeout bounds each Redis call of Add, and of a resync four times
// over (default 1s).
func WithTimeout(d time.Duration) Option {
	return option(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redislist: timeout %s is not positive", d)
		}
		c.timeout = d
		return nil
	})
}

// WithHealthCheck sets how long the subscription may be silent before a
// PING checks it (default 1s). A silently lost connection is found within
// twice that; until then, checks answer from the local list.
func WithHealthCheck(d time.Duration) Option {
	return option(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("redislist: health check interval %s is not positive", d)
		}
		c.healthCheck = d
		return nil
	})
}

// WithLogger sets the logger of the list (default: none): lost and
// restored subscriptions, failed writes. It logs kinds and counts, never
// subjects or token ids.
func WithLogger(l *slog.Logger) Option {
	return option(func(c *config) error {
		if l == nil {
			return errors.New("redislist: nil logger")
		}
		c.log = l
		return nil
	})
}
