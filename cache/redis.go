package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/internal/pubsub"
)

// genTTL is how long a key's generation counter outlives its last
// invalidation; a fill that takes longer than it may store a stale value,
// so loads are bounded by maxLoadTimeout, half of it.
const genTTL = 10 * time.Minute

// Redis is the shared tier in Redis, for several processes. Entries are
// JSON strings with a TTL under "<prefix>:<cache>:{<key>}", each with a
// generation counter "...:gen" that invalidations bump; invalidations are
// published on "<prefix>:invalidate" to every process. Keys of one entry
// share a hash tag, so it works on Redis Cluster as on a single server.
//
// A Redis backend holds one subscription connection; share one per process
// and Close it at shutdown. It is safe for concurrent use.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	channel string
	timeout time.Duration
	log     *slog.Logger
	sub     *pubsub.Subscriber
	ls      listeners

	errors        atomic.Uint64
	invalidations atomic.Uint64
}

var _ Backend = (*Redis)(nil)

// RedisStats are a Redis backend's counters.
type RedisStats struct {
	// Synced reports whether invalidations reach this process now; while it
	// is false, caches on this backend call their load function.
	Synced bool
	// Resyncs counts subscriptions made (the first one included); each
	// drops every local tier on the backend.
	Resyncs uint64
	// Losses counts lost subscriptions.
	Losses uint64
	// Received counts invalidation messages received.
	Received uint64
	// Published counts invalidation messages published.
	Published uint64
	// Errors counts failed Redis commands.
	Errors uint64
}

// NewRedis returns the shared tier on client (a *redis.Client, a
// *redis.ClusterClient or a failover client) and subscribes to the
// invalidation channel in the background. It does no I/O itself; use
// WaitSynced to wait for the subscription. Until it is synced, caches on
// the backend call their load function.
func NewRedis(client redis.UniversalClient, opts ...RedisOption) (*Redis, error) {
	if client == nil {
		return nil, errors.New("cache: nil redis client")
	}
	cfg := redisConfig{prefix: "gatehouse:cache", timeout: 500 * time.Millisecond, healthCheck: time.Second, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o.applyRedis(&cfg); err != nil {
			return nil, err
		}
	}
	r := &Redis{
		client:  client,
		prefix:  cfg.prefix,
		channel: cfg.prefix + ":invalidate",
		timeout: cfg.timeout,
		log:     cfg.log,
	}
	r.sub = pubsub.Start(client, r.channel, pubsub.Handler{
		Sync:    r.resync,
		Message: r.message,
	}, pubsub.Config{Interval: cfg.healthCheck, Timeout: cfg.timeout * 4, Logger: cfg.log, Name: "cache"})
	return r, nil
}

// WaitSynced blocks until the invalidation subscription is live, or ctx
// ends.
func (r *Redis) WaitSynced(ctx context.Context) error { return r.sub.WaitSynced(ctx) }

// Close stops the subscription. It does not close the client.
func (r *Redis) Close() error { return r.sub.Close() }

// Stats returns the backend's counters.
func (r *Redis) Stats() RedisStats {
	s := r.sub.Stats()
	return RedisStats{
		Synced: s.Synced, Resyncs: s.Syncs, Losses: s.Losses, Received: s.Messages,
		Published: r.invalidations.Load(), Errors: r.errors.Load(),
	}
}

func (r *Redis) key(name, key string) string { return r.prefix + ":" + name + ":{" + key + "}" }

func (r *Redis) get(ctx context.Context, name, key string) (shared, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	k := r.key(name, key)
	var val *redis.StringCmd
	var ttl *redis.DurationCmd
	var gen *redis.StringCmd
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		val = p.Get(ctx, k)
		ttl = p.PTTL(ctx, k)
		gen = p.Get(ctx, k+":gen")
		return nil
	})
	for _, c := range []redis.Cmder{val, ttl, gen} {
		if c != nil && c.Err() != nil && !errors.Is(c.Err(), redis.Nil) {
			err = c.Err()
		}
	}
	if err != nil && !errors.Is(err, redis.Nil) {
		r.errors.Add(1)
		return shared{}, fmt.Errorf("cache: redis get: %w", err)
	}
	s := shared{gen: gen.Val()}
	if data, err := val.Bytes(); err == nil {
		s.found, s.data = true, data
		if d := ttl.Val(); d > 0 {
			s.ttl = d
		}
	}
	return s, nil
}

// setScript stores the value unless the generation moved since the get.
var setScript = redis.NewScript(`
local g = redis.call('GET', KEYS[2]) or ''
if g ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

func (r *Redis) set(ctx context.Context, name, key string, data []byte, ttl time.Duration, gen string) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	k := r.key(name, key)
	ms := max(ttl.Milliseconds(), 1)
	if err := setScript.Run(ctx, r.client, []string{k, k + ":gen"}, data, ms, gen).Err(); err != nil {
		r.errors.Add(1)
		return fmt.Errorf("cache: redis set: %w", err)
	}
	return nil
}

// message is an invalidation on the channel.
type message struct {
	Cache  string   `json:"c"`
	Origin string   `json:"o"`
	Keys   []string `json:"k"`
}

func (r *Redis) invalidate(ctx context.Context, name, origin string, keys []string) error {
	payload, err := json.Marshal(message{Cache: name, Origin: origin, Keys: keys})
	if err != nil {
		return fmt.Errorf("cache: invalidate: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	// The generation moves first, so that a fill that read before this
	// invalidation cannot store after it; the value goes next.
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, key := range keys {
			k := r.key(name, key)
			p.Incr(ctx, k+":gen")
			p.PExpire(ctx, k+":gen", genTTL)
			p.Del(ctx, k)
		}
		p.Publish(ctx, r.channel, payload)
		return nil
	})
	if err != nil {
		r.errors.Add(1)
		r.log.Warn("cache: invalidation failed; other processes may serve the old value until its TTL", "cache", name, "keys", len(keys), "err", err)
		return fmt.Errorf("cache: invalidate: %w", err)
	}
	r.invalidations.Add(1)
	// Other caches of this process hear it from the channel too; telling
	// them now spares them the round trip.
	for _, l := range r.ls.of(name, origin) {
		l.invalidated(keys)
	}
	return nil
}

func (r *Redis) attach(name string, l listener) func() { return r.ls.attach(name, l) }

func (r *Redis) synced() bool { return r.sub.Synced() }

// resync runs after every (re)subscription: whatever was published while
// the subscription was down is lost, so every local tier is dropped.
func (r *Redis) resync(context.Context) error {
	for _, l := range r.ls.all() {
		l.flush()
	}
	return nil
}

func (r *Redis) message(payload string) {
	var m message
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.Cache == "" {
		r.log.Warn("cache: ignored a malformed invalidation message", "channel", r.channel)
		return
	}
	for _, l := range r.ls.of(m.Cache, m.Origin) {
		l.invalidated(m.Keys)
	}
}
