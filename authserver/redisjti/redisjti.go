package redisjti

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/authserver"
)

// Store records client-assertion jtis in Redis. It is safe for concurrent
// use; its methods never retry.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
}

var _ authserver.ReplayStore = (*Store)(nil)

// New returns a store on rdb. The client stays the caller's to close.
func New(rdb redis.UniversalClient, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisjti: a Redis client is required")
	}
	s := &Store{rdb: rdb, prefix: "gatehouse:assertion-jti", timeout: time.Second}
	for _, o := range opts {
		if err := o.apply(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Option configures a [Store].
type Option interface{ apply(*Store) error }

type option func(*Store) error

func (f option) apply(s *Store) error { return f(s) }

// WithPrefix sets the prefix of the keys (default "gatehouse:assertion-jti");
// every auth server instance of a deployment uses the same one. It may not
// contain braces or spaces.
func WithPrefix(prefix string) Option {
	return option(func(s *Store) error {
		if prefix == "" || strings.ContainsAny(prefix, "{} \t\r\n") {
			return fmt.Errorf("redisjti: prefix %q: empty, or has braces or spaces", prefix)
		}
		s.prefix = prefix
		return nil
	})
}

// WithTimeout bounds each call to Redis (default 1s).
func WithTimeout(d time.Duration) Option {
	return option(func(s *Store) error {
		if d <= 0 {
			return fmt.Errorf("redisjti: timeout %s is not positive", d)
		}
		s.timeout = d
		return nil
	})
}

// Use records jti of the client for ttl (rounded up to the millisecond,
// Redis's unit) unless it is recorded already, and reports whether it was
// new. An error means that Redis did not answer: the caller cannot tell,
// and must refuse.
func (s *Store) Use(ctx context.Context, clientID, jti string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ttl = max(time.Millisecond, (ttl + time.Millisecond - 1).Truncate(time.Millisecond))
	fresh, err := s.rdb.SetNX(ctx, s.key(clientID, jti), 1, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redisjti: record jti of client %q: %w", clientID, err)
	}
	return fresh, nil
}

// key is prefix:client:sha256(jti), the client id query-escaped (it then
// holds no colon).
func (s *Store) key(clientID, jti string) string {
	h := sha256.Sum256([]byte(jti))
	return s.prefix + ":" + url.QueryEscape(clientID) + ":" + hex.EncodeToString(h[:])
}
