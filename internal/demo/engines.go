package demo

// The shared state of the platform (rate limits, the revocation list and
// the identity cache), in memory or in Redis (Config.RedisURL).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/ratelimit"
	"github.com/gatehousehq/gatehouse/redisconn"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/revocation/redislist"
)

// engines are the in-memory or Redis implementations of the shared state.
type engines struct {
	rdb         redis.UniversalClient // nil: in memory
	revocations *revocation.List
	cache       cache.Backend
	limits      func(p ratelimit.Policy) (ratelimit.Limiter, error)
	describe    string
	closers     []func() error
}

func openEngines(ctx context.Context, cfg Config) (*engines, error) {
	e := &engines{}
	if cfg.RedisURL == "" {
		e.describe = "limits, revocation and cache: in memory"
		var err error
		if e.revocations, err = revocation.NewMemory(); err != nil {
			return nil, fmt.Errorf("demo: revocation list: %w", err)
		}
		mem, err := cache.NewMemory()
		if err != nil {
			return nil, fmt.Errorf("demo: cache: %w", err)
		}
		e.cache = mem
		e.limits = func(p ratelimit.Policy) (ratelimit.Limiter, error) { return ratelimit.NewMemory(p) }
		return e, nil
	}
	e.describe = "limits, revocation and cache: Redis"
	rdb, err := redisconn.Open(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("demo: --redis: %w", err)
	}
	e.rdb = rdb
	e.closers = append(e.closers, rdb.Close)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		e.close()
		return nil, fmt.Errorf("demo: --redis: Redis does not answer: %w", err)
	}
	list, err := redislist.New(rdb, redislist.WithPrefix(cfg.KeyPrefix+":revocation"))
	if err != nil {
		e.close()
		return nil, fmt.Errorf("demo: revocation list: %w", err)
	}
	e.revocations = list
	e.closers = append(e.closers, list.Close)
	backend, err := cache.NewRedis(rdb, cache.WithPrefix(cfg.KeyPrefix+":cache"))
	if err != nil {
		e.close()
		return nil, fmt.Errorf("demo: cache: %w", err)
	}
	e.cache = backend
	e.closers = append(e.closers, backend.Close)
	if err := list.WaitSynced(pctx); err != nil {
		e.close()
		return nil, fmt.Errorf("demo: revocation list did not sync with Redis: %w", err)
	}
	if err := backend.WaitSynced(pctx); err != nil {
		e.close()
		return nil, fmt.Errorf("demo: cache did not sync with Redis: %w", err)
	}
	e.limits = func(p ratelimit.Policy) (ratelimit.Limiter, error) {
		return ratelimit.NewRedis(rdb, p, ratelimit.WithPrefix(cfg.KeyPrefix+":ratelimit"))
	}
	return e, nil
}

func (e *engines) close() error {
	var errs []error
	for i := len(e.closers) - 1; i >= 0; i-- {
		if err := e.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	e.closers = nil
	return errors.Join(errs...)
}
