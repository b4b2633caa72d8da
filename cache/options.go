package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults of a Cache.
const (
	DefaultTTL         = time.Minute
	DefaultMaxEntries  = 10_000
	DefaultLoadTimeout = 10 * time.Second
)

// maxLoadTimeout keeps a load shorter than the life of the Redis generation
// keys that guard its fill (genTTL).
const maxLoadTimeout = genTTL / 2

// Option configures a Cache.
type Option interface{ applyCache(*config) error }

// MemoryOption configures a Memory backend.
type MemoryOption interface{ applyMemory(*memoryConfig) error }

// RedisOption configures a Redis backend.
type RedisOption interface{ applyRedis(*redisConfig) error }

type config struct {
	ttl         time.Duration
	negErr      error
	negTTL      time.Duration
	maxEntries  int
	loadTimeout time.Duration
	now         func() time.Time
}

type memoryConfig struct {
	maxEntries int
	now        func() time.Time
}

type redisConfig struct {
	prefix      string
	timeout     time.Duration
	healthCheck time.Duration
	log         *slog.Logger
}

type cacheOption func(*config) error

func (f cacheOption) applyCache(c *config) error { return f(c) }

type memoryOption func(*memoryConfig) error

func (f memoryOption) applyMemory(c *memoryConfig) error { return f(c) }

type redisOption func(*redisConfig) error

func (f redisOption) applyRedis(c *redisConfig) error { return f(c) }

// WithTTL sets how long an entry lives, in the local and in the shared
// tier (default DefaultTTL). It bounds how stale a value can be when an
// invalidation is lost.
func WithTTL(d time.Duration) Option {
	return cacheOption(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("cache: TTL %s is not positive", d)
		}
		c.ttl = d
		return nil
	})
}

// WithNegative caches load errors that match notFound (errors.Is) for ttl:
// until it passes, Get answers notFound itself without calling load. Keep
// ttl short; a write through the store invalidates the key anyway.
func WithNegative(notFound error, ttl time.Duration) Option {
	return cacheOption(func(c *config) error {
		if notFound == nil {
			return errors.New("cache: negative caching needs the error that means not found")
		}
		if ttl <= 0 {
			return fmt.Errorf("cache: negative TTL %s is not positive", ttl)
		}
		c.negErr, c.negTTL = notFound, ttl
		return nil
	})
}

// WithMaxEntries bounds the local tier (default DefaultMaxEntries); the
// least valuable entries are evicted beyond it.
func WithMaxEntries(n int) Option {
	return cacheOption(func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("cache: max entries %d is not positive", n)
		}
		c.maxEntries = n
		return nil
	})
}

// WithLoadTimeout bounds one fill of a key: the shared-tier round trips and
// the call of load (default DefaultLoadTimeout, at most 5 minutes).
func WithLoadTimeout(d time.Duration) Option {
	return cacheOption(func(c *config) error {
		if d <= 0 || d > maxLoadTimeout {
			return fmt.Errorf("cache: load timeout %s is not in (0, %s]", d, maxLoadTimeout)
		}
		c.loadTimeout = d
		return nil
	})
}

// ClockOption is an option of both a Cache and a Memory backend.
type ClockOption struct{ now func() time.Time }

func (o ClockOption) applyCache(c *config) error {
	if o.now == nil {
		return errors.New("cache: nil clock")
	}
	c.now = o.now
	return nil
}

func (o ClockOption) applyMemory(c *memoryConfig) error {
	if o.now == nil {
		return errors.New("cache: nil clock")
	}
	c.now = o.now
	return nil
}

// WithClock sets the clock that expires entries of the local tier and of a
// Memory backend, for tests. Redis expires its entries by its own clock.
func WithClock(now func() time.Time) ClockOption { return ClockOption{now: now} }

// WithMemoryMaxEntries bounds a Memory backend's shared tier (default
// 100,000 entries over all caches).
func WithMemoryMaxEntries(n int) MemoryOption {
	return memoryOption(func(c *memoryConfig) error {
		if n <= 0 {
			return fmt.Errorf("cache: max entries %d is not positive", n)
		}
		c.maxEntries = n
		return nil
	})
}

// WithPrefix sets the prefix of a Redis backend's keys and channel
// (default "gatehouse:cache"); processes that share entries use the same
// prefix. It may not contain braces, which Redis Cluster reads as hash tags.
func WithPrefix(prefix string) RedisOption {
	return redisOption(func(c *redisConfig) error {
		if prefix == "" || strings.ContainsAny(prefix, "{}") || strings.ContainsFunc(prefix, isSpaceOrControl) {
			return fmt.Errorf("cache: prefix %q: empty, or has braces, spaces or control characters", prefix)
		}
		c.prefix = prefix
		return nil
	})
}

// WithTimeout bounds each Redis command of a lookup or an invalidation
// (default 500ms): past it the lookup goes to the load function.
func WithTimeout(d time.Duration) RedisOption {
	return redisOption(func(c *redisConfig) error {
		if d <= 0 {
			return fmt.Errorf("cache: timeout %s is not positive", d)
		}
		c.timeout = d
		return nil
	})
}

// WithHealthCheck sets how long the subscription may be silent before a
// PING checks it (default 1s); a silently lost connection is found within
// twice that, and meanwhile local copies may miss invalidations.
func WithHealthCheck(d time.Duration) RedisOption {
	return redisOption(func(c *redisConfig) error {
		if d <= 0 {
			return fmt.Errorf("cache: health check interval %s is not positive", d)
		}
		c.healthCheck = d
		return nil
	})
}

// WithLogger sets the logger of a Redis backend (default: none). It logs
// lost and restored subscriptions and failed invalidations, never keys or
// values.
func WithLogger(l *slog.Logger) RedisOption {
	return redisOption(func(c *redisConfig) error {
		if l == nil {
			return errors.New("cache: nil logger")
		}
		c.log = l
		return nil
	})
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }
