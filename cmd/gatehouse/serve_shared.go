package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/authserver/redisjti"
	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/gateway"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/cachedstore"
	"github.com/gatehousehq/gatehouse/internal/config"
	"github.com/gatehousehq/gatehouse/redisconn"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/revocation/redislist"
	"github.com/gatehousehq/gatehouse/token"
)

// Shared state of the processes of one deployment: the deny list of
// tokens, the identity cache, and (package ratelimit, opened by the
// gateway) rate limits. Without a Redis URL everything is in memory, for
// one process; with one, every process that uses the same URL shares it.
const (
	// authCacheTTL bounds how long an auth server serves a user or client
	// that was changed without going through a cached store on the same
	// Redis (e.g. 'gatehouse user disable' without --redis): the same
	// 30 seconds as the reload of signing keys and revocations.
	authCacheTTL = 30 * time.Second
	// sharedStartWait is how long a process waits at start for its Redis
	// subscriptions before it serves anyway (fail-closed revocation checks
	// answer 503 until they are synced).
	sharedStartWait = 3 * time.Second
)

// sharedState is what 'gatehouse serve' and the admin commands share
// through Redis. Close it at shutdown.
type sharedState struct {
	// client is nil without Redis.
	client      redis.UniversalClient
	revocations *revocation.List
	// local is the process's own deny list (processDenyList), which a
	// gateway checks beside revocations when those are on Redis.
	local *revocation.List
	// backend is the identity cache's shared tier.
	backend cache.Backend
	// redisBackend is backend when it is Redis, for its stats.
	redisBackend *cache.Redis
	// cached is the identity store of the auth server behind the cache,
	// once wrapStore made it.
	cached *cachedstore.Store
}

// sharedOptions tune openShared.
type sharedOptions struct {
	// failOpen makes revocation checks answer from the local list while
	// Redis is unreachable, instead of refusing with 503 (the default).
	failOpen bool
	// wait is how long to wait for the Redis subscriptions (0: not at all).
	wait time.Duration
}

// openShared opens the shared state of a process: in memory when redisURL
// is empty, else on one go-redis client for the URL (see redisconn.Open) that
// the revocation list and the identity cache share. Redis being down at
// start is not an error: revocation checks follow the failure policy and
// the cache reads the store until Redis answers.
func openShared(ctx context.Context, redisURL string, opt sharedOptions, log *slog.Logger) (*sharedState, error) {
	if redisURL == "" {
		list, err := revocation.NewMemory()
		if err != nil {
			return nil, err
		}
		mem, err := cache.NewMemory()
		if err != nil {
			return nil, err
		}
		return &sharedState{revocations: list, backend: mem}, nil
	}
	client, err := redisconn.Open(redisURL)
	if err != nil {
		return nil, err
	}
	mode := revocation.FailClosed
	if opt.failOpen {
		mode = revocation.FailOpen
	}
	list, err := redislist.New(client, redislist.WithFailureMode(mode), redislist.WithLogger(log))
	if err != nil {
		client.Close()
		return nil, err
	}
	rb, err := cache.NewRedis(client, cache.WithLogger(log))
	if err != nil {
		list.Close()
		client.Close()
		return nil, err
	}
	s := &sharedState{client: client, revocations: list, backend: rb, redisBackend: rb}
	if opt.wait > 0 {
		wctx, cancel := context.WithTimeout(ctx, opt.wait)
		defer cancel()
		if err := errors.Join(list.WaitSynced(wctx), rb.WaitSynced(wctx)); err != nil {
			log.Warn("redis is not answering; revocation checks follow the failure policy and the cache reads the store until it does",
				"redis", redactURL(redisURL), "revocation_failure", mode.String())
		}
	}
	return s, nil
}

// wrapStore puts st behind the identity cache, with the auth server's TTL.
func (s *sharedState) wrapStore(st identity.Store) (identity.Store, error) {
	c, err := cachedstore.New(st, s.backend, cache.WithTTL(authCacheTTL))
	if err != nil {
		return nil, err
	}
	s.cached = c
	return c, nil
}

// close stops the subscriptions and closes the client; the store stays
// open (its owner closes it).
func (s *sharedState) close() {
	if s == nil {
		return
	}
	s.revocations.Close()
	if s.redisBackend != nil {
		s.redisBackend.Close()
	}
	if s.client != nil {
		s.client.Close()
	}
}

// redisURLOf returns the Redis URL of an authserver section: redis, or the
// variable redis_env names.
func redisURLOf(a *config.AuthServer) (string, error) {
	if a.RedisEnv == "" {
		return a.Redis, nil
	}
	u := os.Getenv(a.RedisEnv)
	if u == "" {
		return "", fmt.Errorf("authserver.redis_env: the environment variable %s is empty or not set", a.RedisEnv)
	}
	return u, nil
}

// register exports the counters of the shared state as Prometheus
// metrics on reg (a registry of the process, never the global one): the
// deny list's, and the identity cache's when wrapStore put a store behind
// it.
func (s *sharedState) register(reg prometheus.Registerer) error {
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "gatehouse", Name: name, Help: help}, f)
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "gatehouse", Name: name, Help: help}, f)
	}
	rs := func() revocation.Stats { return s.revocations.Stats() }
	cs := func() cache.Stats { return s.cached.Stats() }
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	collectors := []prometheus.Collector{
		gauge("revocation_entries", "Entries on the local deny list.", func() float64 { return float64(rs().Entries) }),
		gauge("revocation_synced", "1 while the deny list is complete (Redis subscription live and resynced).", func() float64 { return b(rs().Synced) }),
		counter("revocation_resyncs_total", "Full reloads of the deny list from Redis.", func() float64 { return float64(rs().Resyncs) }),
		counter("revocation_losses_total", "Lost Redis subscriptions of the deny list.", func() float64 { return float64(rs().Losses) }),
		counter("revocation_received_total", "Deny-list entries received from other processes.", func() float64 { return float64(rs().Received) }),
		counter("revocation_published_total", "Deny-list entries written to Redis.", func() float64 { return float64(rs().Published) }),
		counter("revocation_unavailable_total", "Revocation checks refused because the list was not synced (fail closed).", func() float64 { return float64(rs().Unavailable) }),
		counter("revocation_stale_total", "Revocation checks answered from a list that was not synced (fail open).", func() float64 { return float64(rs().Stale) }),
	}
	if s.cached != nil { // the identity cache, where a store is behind it
		collectors = append(collectors,
			counter("cache_hits_total", "Identity lookups answered by the local cache tier.", func() float64 { return float64(cs().Hits) }),
			counter("cache_misses_total", "Identity lookups the local cache tier could not answer.", func() float64 { return float64(cs().Misses) }),
			counter("cache_shared_hits_total", "Identity cache misses answered by the shared tier.", func() float64 { return float64(cs().SharedHits) }),
			counter("cache_loads_total", "Identity store reads made by the cache.", func() float64 { return float64(cs().Loads) }),
			counter("cache_load_errors_total", "Identity store reads that failed.", func() float64 { return float64(cs().LoadErrors) }),
			counter("cache_invalidations_total", "Identity cache keys invalidated here or elsewhere.", func() float64 { return float64(cs().Invalidations) }),
			counter("cache_backend_errors_total", "Failed shared-tier calls of the identity cache.", func() float64 { return float64(cs().BackendErrors) }),
		)
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// sharedForAuthServer opens the shared state of an authserver section.
// With authserver.redis (or redis_env) it returns st behind the identity
// cache on Redis and the deny list to publish revocations to; without, st
// itself and a nil publisher (everything stays in this process and its
// store, as before).
func sharedForAuthServer(ctx context.Context, a *config.AuthServer, st identity.Store, log *slog.Logger) (*sharedState, identity.Store, authserver.RevocationPublisher, error) {
	u, err := redisURLOf(a)
	if err != nil {
		return nil, st, nil, err
	}
	if u == "" {
		log.Info("revocations: the auth server keeps them in this process's deny list, which the gateway of this process checks too; no authserver.redis, so other processes learn of them only from the store")
		log.Info("private_key_jwt: client-assertion jtis are remembered in this process only; no authserver.redis, so another auth server instance would accept an assertion replayed within its lifetime")
		return nil, st, nil, nil
	}
	s, err := openShared(ctx, u, sharedOptions{wait: sharedStartWait}, log)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("authserver.redis: %w", err)
	}
	cached, err := s.wrapStore(st)
	if err != nil {
		s.close()
		return nil, nil, nil, err
	}
	log.Info("revocations: the auth server keeps them in this process's deny list, which the gateway of this process checks too, and publishes them through redis with the identity cache", "redis", redactURL(u))
	log.Info("private_key_jwt: client-assertion jtis are recorded in redis, so an assertion is accepted once across instances; while redis is down, private_key_jwt answers 503", "redis", redactURL(u))
	return s, cached, s.revocations, nil
}

// assertionReplay returns where the auth server records the jtis of
// client assertions: on the shared Redis (authserver/redisjti), or nil
// without one (each process remembers its own).
func (s *sharedState) assertionReplay() (authserver.ReplayStore, error) {
	if s == nil || s.client == nil {
		return nil, nil
	}
	rs, err := redisjti.New(s.client)
	if err != nil {
		return nil, fmt.Errorf("authserver.redis: %w", err)
	}
	return rs, nil
}

// sharedForGateway opens the shared state of a gateway section: with
// ratelimit.backend redis, the deny list on the same Redis, whose one
// client then serves the rate limits too; its metrics go to reg. Without
// Redis it returns nil, and the gateway checks no shared deny list.
func sharedForGateway(ctx context.Context, e *env, cfg *gateway.Config, reg prometheus.Registerer, log *slog.Logger) (*sharedState, error) {
	if cfg.RateLimit.Backend != "redis" || cfg.RateLimit.RedisURL == "" {
		// In memory: the deny list this process's auth server (if any)
		// keeps its revocations in, so that they are refused here at once.
		s := &sharedState{revocations: e.processDenyList(), local: e.processDenyList()}
		if err := s.register(reg); err != nil {
			return nil, err
		}
		log.Info("revocations: the gateway checks this process's deny list (the auth server of this process keeps its revocations there); no ratelimit.redis_url, so revocations made by other processes are not seen")
		return s, nil
	}
	opt := sharedOptions{wait: sharedStartWait, failOpen: cfg.Revocation.OnUnavailable == "open"}
	s, err := openShared(ctx, cfg.RateLimit.RedisURL, opt, log)
	if err != nil {
		return nil, fmt.Errorf("gateway: ratelimit.redis_url: %w", err)
	}
	s.local = e.processDenyList()
	if err := s.register(reg); err != nil {
		s.close()
		return nil, err
	}
	log.Info("revocations: the gateway checks the deny list shared through redis and this process's own", "redis", redactURL(cfg.RateLimit.RedisURL))
	return s, nil
}

// processDenyList returns the in-memory deny list that the auth server
// and the gateway of one 'gatehouse serve' share, made at first use: a
// revocation recorded by the auth server is refused by the gateway at
// once, without Redis. With Redis, entries of other processes reach it
// through the auth server's subscription too.
func (e *env) processDenyList() *revocation.List {
	if e.deny == nil {
		l, err := revocation.NewMemory()
		if err != nil {
			panic("revocation.NewMemory without options failed: " + err.Error()) // cannot happen
		}
		e.deny = l
	}
	return e.deny
}

// gatewayOptions adds the shared Redis client and deny list to o.
func (s *sharedState) gatewayOptions(o gateway.Options) gateway.Options {
	if s == nil {
		return o
	}
	o.Redis, o.Revoker = s.client, s.revocations
	if s.local != nil && s.local != s.revocations {
		o.Revoker = eitherList{local: s.local, shared: s.revocations}
	}
	return o
}

// eitherList revokes what either deny list revokes: the process's own
// (where an auth server of the process without Redis keeps its
// revocations) and the one shared through Redis.
type eitherList struct{ local, shared *revocation.List }

// Revoked implements token.Revoker: the local list first (it never fails),
// then the shared one, with its failure policy.
func (l eitherList) Revoked(ctx context.Context, c *token.Claims) (bool, error) {
	if r, err := l.local.Revoked(ctx, c); err == nil && r {
		return true, nil
	}
	return l.shared.Revoked(ctx, c)
}

// quietRedisLog discards go-redis's own log lines (main sets it).
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}
