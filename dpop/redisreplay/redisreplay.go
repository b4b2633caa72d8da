// Package redisreplay shares the DPoP replay cache of package dpop
// through Redis, so that a proof accepted by one instance (auth server,
// gateway, service) is refused by every other one on the same Redis while
// it is inside its window (RFC 9449 §11.1).
//
//	rc, err := redisreplay.New(rdb) // a go-redis client
//	v, err := dpop.NewVerifier(dpop.WithReplay(rc))
//
// Each proof is one key, prefix:hex(sha256(jkt, jti)), set with SET NX PXAT
// until the proof leaves the window: the first instance to set it wins,
// atomically, and Redis forgets it when it could no longer verify. When
// Redis does not answer, First returns an error and the verifier refuses
// the proof with [dpop.ErrReplayUnavailable] (fail closed).
package redisreplay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/dpop"
)

// Cache is a [dpop.ReplayCache] on Redis. It is safe for concurrent use;
// it never retries.
type Cache struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
	now     func() time.Time
}

var _ dpop.ReplayCache = (*Cache)(nil)

// Option configures a [Cache].
type Option interface{ apply(*Cache) error }

type option func(*Cache) error

func (f option) apply(c *Cache) error { return f(c) }

// WithPrefix sets the prefix of the keys (default "gatehouse:dpop-jti");
// every instance that must refuse another's proofs uses the same one. It
// may not contain braces or spaces.
func WithPrefix(prefix string) Option {
	return option(func(c *Cache) error {
		if prefix == "" || strings.ContainsAny(prefix, "{} \t\r\n") {
			return fmt.Errorf("redisreplay: prefix %q: empty, or has braces or spaces", prefix)
		}
		c.prefix = prefix
		return nil
	})
}

// WithTimeout bounds each call to Redis (default 1s).
func WithTimeout(d time.Duration) Option {
	return option(func(c *Cache) error {
		if d <= 0 {
			return fmt.Errorf("redisreplay: timeout %s is not positive", d)
		}
		c.timeout = d
		return nil
	})
}

// WithClock sets the clock that decides whether an until is already past
// (default time.Now); it must be the verifier's.
func WithClock(now func() time.Time) Option {
	return option(func(c *Cache) error {
		if now == nil {
			return errors.New("redisreplay: nil clock")
		}
		c.now = now
		return nil
	})
}

// New returns a cache on rdb. The client stays the caller's to close.
func New(rdb redis.UniversalClient, opts ...Option) (*Cache, error) {
	if rdb == nil {
		return nil, errors.New("redisreplay: a Redis client is required")
	}
	c := &Cache{rdb: rdb, prefix: "gatehouse:dpop-jti", timeout: time.Second, now: time.Now}
	for _, o := range opts {
		if err := o.apply(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// First implements [dpop.ReplayCache]: SET prefix:key 1 NX PXAT until. The
// key is the verifier's (already a hash of the proof's key and jti). The
// expiry is relative to the verifier's clock, so that a clock of one's own
// does not make Redis forget the key at once.
func (c *Cache) First(ctx context.Context, key string, until time.Time) (bool, error) {
	ttl := until.Sub(c.now())
	if ttl <= 0 {
		return true, nil // out of the window: the verifier refused it already
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	ttl = (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
	err := c.rdb.SetArgs(ctx, c.prefix+":"+key, 1, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("redisreplay: record proof: %w", err)
	}
	return true, nil
}
