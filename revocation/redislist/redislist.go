package redislist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/internal/pubsub"
	"github.com/gatehousehq/gatehouse/revocation"
)

// peer is the Redis side of a shared revocation.List.
type peer struct {
	client  redis.UniversalClient
	entries string // hash: "kind:value" -> "issuedBeforeMs untilMs"
	expiry  string // sorted set: "kind:value" scored by untilMs
	channel string
	timeout time.Duration
	log     *slog.Logger
	feed    revocation.Feed
	sub     *pubsub.Subscriber

	published, errors atomic.Uint64
}

var _ revocation.Peer = (*peer)(nil)

// New returns a deny list shared through Redis by every process that uses
// the same client target and prefix. Entries live in a hash and a sorted
// set by expiry under the hash tag "{<prefix>}" (one slot on Redis
// Cluster); each Add publishes the merged entry on "<prefix>:events". The
// list subscribes in the background, and after every subscription (the
// first and each one after a lost connection) reloads the full list before
// it answers as synced; use WaitSynced to wait for the first. New does no
// I/O itself.
//
// Until it is synced, and whenever the subscription is lost, Revoked
// follows the failure mode ([WithFailureMode]; revocation.FailClosed by
// default).
func New(client redis.UniversalClient, opts ...Option) (*revocation.List, error) {
	if client == nil {
		return nil, errors.New("redislist: nil redis client")
	}
	cfg := defaults()
	for _, o := range opts {
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	tag := "{" + cfg.prefix + "}"
	return revocation.NewShared(func(feed revocation.Feed) (revocation.Peer, error) {
		r := &peer{
			client:  client,
			entries: tag + ":entries",
			expiry:  tag + ":expiry",
			channel: cfg.prefix + ":events",
			timeout: cfg.timeout,
			log:     cfg.log,
			feed:    feed,
		}
		r.sub = pubsub.Start(client, r.channel, pubsub.Handler{
			Sync: r.resync,
			Message: func(payload string) {
				e, err := parseMessage(payload)
				if err != nil {
					r.log.Warn("revocation: ignored a malformed message", "channel", r.channel)
					return
				}
				feed.Receive(e)
			},
		}, pubsub.Config{Interval: cfg.healthCheck, Timeout: 4 * cfg.timeout, Logger: cfg.log, Name: "revocation"})
		return r, nil
	}, cfg.mode)
}

// addScript merges an entry into the hash, indexes its expiry, drops up to
// 128 expired entries, keeps both keys no longer than their last entry, and
// publishes the merged entry — atomically, so a subscriber that resyncs
// sees an entry either in the hash or in a message after it.
//
// KEYS: entries, expiry. ARGV: field, issuedBeforeMs, untilMs, nowMs,
// channel.
var addScript = redis.NewScript(`
local field, ib, untl, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local old = redis.call('HGET', KEYS[1], field)
if old then
  local oib, ountl = string.match(old, '^(%d+) (%d+)$')
  if oib and tonumber(ountl) > now then
    if tonumber(oib) > ib then ib = tonumber(oib) end
    if tonumber(ountl) > untl then untl = tonumber(ountl) end
  end
end
local val = string.format('%.0f %.0f', ib, untl)
redis.call('HSET', KEYS[1], field, val)
redis.call('ZADD', KEYS[2], string.format('%.0f', untl), field)
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 128)
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
  redis.call('ZREM', KEYS[2], unpack(gone))
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] then
  local ttl = tonumber(last[2]) - now
  if ttl > 0 then
    ttl = string.format('%.0f', ttl)
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
end
redis.call('PUBLISH', ARGV[5], val .. ' ' .. field)
return val
`)

// Publish writes e to Redis and publishes the merged entry
// (revocation.Peer).
func (r *peer) Publish(ctx context.Context, e revocation.Entry, now time.Time) (revocation.Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	val, err := addScript.Run(ctx, r.client, []string{r.entries, r.expiry},
		field(e), ms(e.IssuedBefore), ms(e.Until), ms(now), r.channel).Text()
	if err != nil {
		r.errors.Add(1)
		r.log.Warn("revocation: could not publish an entry; other processes do not have it", "kind", string(e.Kind), "err", err)
		return e, fmt.Errorf("%w: add: %w", revocation.ErrUnavailable, err)
	}
	r.published.Add(1)
	merged, err := parseStored(field(e), val)
	if err != nil {
		return e, nil
	}
	return merged, nil
}

// syncScript drops expired entries and returns the others, as HGETALL does.
//
// KEYS: entries, expiry. ARGV: nowMs.
var syncScript = redis.NewScript(`
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for i = 1, #gone, 1000 do
  local chunk = {unpack(gone, i, math.min(i + 999, #gone))}
  redis.call('HDEL', KEYS[1], unpack(chunk))
  redis.call('ZREM', KEYS[2], unpack(chunk))
end
return redis.call('HGETALL', KEYS[1])
`)

// resync reloads the full list after a subscription; the messages
// published from the subscription on are delivered after it.
func (r *peer) resync(ctx context.Context) error {
	now := r.feed.Now()
	res, err := syncScript.Run(ctx, r.client, []string{r.entries, r.expiry}, ms(now)).StringSlice()
	if err != nil {
		r.errors.Add(1)
		return fmt.Errorf("revocation: resync: %w", err)
	}
	entries := make([]revocation.Entry, 0, len(res)/2)
	bad := 0
	for i := 0; i+1 < len(res); i += 2 {
		e, err := parseStored(res[i], res[i+1])
		if err != nil {
			bad++
			continue
		}
		entries = append(entries, e)
	}
	if bad > 0 {
		r.log.Warn("revocation: skipped malformed entries in redis", "count", bad)
	}
	// Entries are only ever added (and expire), so merging the snapshot
	// into what this process knows loses nothing, even if Redis lost data.
	r.feed.Receive(entries...)
	r.feed.Resynced()
	return nil
}

// Synced reports whether the subscription is live and resynced
// (revocation.Peer).
func (r *peer) Synced() bool { return r.sub.Synced() }

// WaitSynced waits for the first resync (revocation.Peer).
func (r *peer) WaitSynced(ctx context.Context) error { return r.sub.WaitSynced(ctx) }

// Stats returns the subscription's and the writes' counters
// (revocation.Peer).
func (r *peer) Stats() revocation.Stats {
	ps := r.sub.Stats()
	return revocation.Stats{
		Synced: ps.Synced, Resyncs: ps.Syncs, Losses: ps.Losses, Received: ps.Messages,
		Published: r.published.Load(), Errors: r.errors.Load(),
	}
}

// Close stops the subscription; the client stays open (revocation.Peer).
func (r *peer) Close() error { return r.sub.Close() }
