package ratelimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed gcra.lua
var gcraLua string

// gcraScript is run with EVALSHA, and with EVAL when the server answers
// NOSCRIPT (after a restart or SCRIPT FLUSH), which loads it again.
var gcraScript = redis.NewScript(gcraLua)

// Defaults of a [Redis] limiter.
const (
	DefaultRedisPrefix  = "gatehouse:ratelimit:"
	DefaultRedisTimeout = 200 * time.Millisecond
)

// Redis is a [Limiter] whose buckets live in Redis, so that several gateway
// instances share one limit. A decision in Redis is one round trip (most of
// a busy key's are made from a local share instead; see [WithLocalShares]
// and the package documentation): a Lua script
// (EVALSHA) that reads the key's state, decides on the server's clock
// (TIME), and writes the new state with a TTL that ends exactly when the
// bucket is full again, so idle keys expire on their own. The TTL is not an
// option: at that moment the state means the same as no state, so a longer
// TTL would only hold memory and a shorter one would forgive debt.
//
// The state of key k under policy p is the Redis key prefix + p.Name + ":" +
// k, one string of about 20 bytes; keys longer than 64 bytes are replaced by
// their SHA-256. Limiters with the same prefix, policy name and policy share
// their buckets: that is how instances share a limit. Two different
// policies must not share a prefix and a name.
//
// When Redis cannot be reached (or answers an error, or takes longer than
// the timeout), Allow applies the failure mode: [FailOpen] by default, or
// [FailClosed]. It counts the failure ([Redis.Stats]), logs the first one of
// an outage and then at most one line per 10 s, and tries Redis again on the
// next call: there is no failure state to leave. (go-redis itself, after as
// many failed dials as its pool size, fails fast until a dial probe that it
// runs every second succeeds.)
//
// A Redis is safe for concurrent use. It does not own the client.
type Redis struct {
	client  redis.Scripter
	policy  Policy
	g       gcra
	prefix  string // prefix + name + ":"
	timeout time.Duration
	mode    FailureMode
	health  health
	shares  *shares
	trips   atomic.Uint64
}

// FailureMode is what a [Redis] limiter answers when Redis cannot decide.
type FailureMode int

const (
	// FailOpen allows the request (the default): an outage of Redis does
	// not become an outage of the gateway.
	FailOpen FailureMode = iota
	// FailClosed refuses the request, with a RetryAfter of one second.
	FailClosed
)

// String is the mode's configuration name.
func (m FailureMode) String() string {
	switch m {
	case FailOpen:
		return "open"
	case FailClosed:
		return "closed"
	}
	return fmt.Sprintf("FailureMode(%d)", int(m))
}

// A RedisOption configures [NewRedis].
type RedisOption interface {
	applyRedis(*redisConfig) error
}

type redisConfig struct {
	prefix  string
	timeout time.Duration
	mode    FailureMode
	log     *slog.Logger
	noShare bool
}

type redisOption func(*redisConfig) error

func (f redisOption) applyRedis(c *redisConfig) error { return f(c) }

// WithPrefix sets the namespace of the limiter's Redis keys (default
// [DefaultRedisPrefix]). The policy name and ':' follow it.
func WithPrefix(prefix string) RedisOption {
	return redisOption(func(c *redisConfig) error {
		c.prefix = prefix
		return nil
	})
}

// WithTimeout bounds each decision's round trip (default
// [DefaultRedisTimeout]); past it the failure mode applies. The client must
// have ContextTimeoutEnabled for the bound to reach its socket reads, as the
// clients of redisconn.Open do.
func WithTimeout(d time.Duration) RedisOption {
	return redisOption(func(c *redisConfig) error {
		if d <= 0 {
			return fmt.Errorf("ratelimit: WithTimeout: must be positive, got %v", d)
		}
		c.timeout = d
		return nil
	})
}

// WithFailureMode sets what Allow answers when Redis cannot decide
// (default [FailOpen]).
func WithFailureMode(m FailureMode) RedisOption {
	return redisOption(func(c *redisConfig) error {
		if m != FailOpen && m != FailClosed {
			return fmt.Errorf("ratelimit: WithFailureMode: unknown mode %d", int(m))
		}
		c.mode = m
		return nil
	})
}

// WithLocalShares turns local shares on (the default) or off. With them, a
// busy key's requests are mostly decided in this process from a share of
// its bucket taken in Redis, with no round trip, while the limit shared by
// every instance holds: see the package documentation. Off, every decision
// is a round trip, and the RateLimit header fields are exact for every
// request rather than only near the limit.
func WithLocalShares(on bool) RedisOption {
	return redisOption(func(c *redisConfig) error {
		c.noShare = !on
		return nil
	})
}

// WithLogger sets where outages are logged (default slog.Default()).
func WithLogger(l *slog.Logger) RedisOption {
	return redisOption(func(c *redisConfig) error {
		if l == nil {
			return errors.New("ratelimit: WithLogger: nil logger")
		}
		c.log = l
		return nil
	})
}

// NewRedis returns a limiter for p on client: a *redis.Client, a
// *redis.ClusterClient (one key per script, so any slot works) or a
// *redis.Ring. It does no I/O; the script is loaded by the first call.
func NewRedis(client redis.Scripter, p Policy, opts ...RedisOption) (*Redis, error) {
	if client == nil {
		return nil, errors.New("ratelimit: NewRedis: nil client")
	}
	g, err := p.gcra()
	if err != nil {
		return nil, err
	}
	cfg := redisConfig{prefix: DefaultRedisPrefix, timeout: DefaultRedisTimeout, log: slog.Default()}
	for _, o := range opts {
		if err := o.applyRedis(&cfg); err != nil {
			return nil, err
		}
	}
	return &Redis{
		client:  client,
		policy:  p,
		g:       g,
		prefix:  cfg.prefix + p.name() + ":",
		timeout: cfg.timeout,
		mode:    cfg.mode,
		health:  health{log: cfg.log, policy: p.name(), mode: cfg.mode},
		shares:  newShares(g, p, !cfg.noShare),
	}, nil
}

// Policy returns the limiter's policy.
func (r *Redis) Policy() Policy { return r.policy }

// Allow implements [Limiter]. It returns an error only for n < 1 and when
// ctx ends before Redis answers (the caller has gone; nothing is counted).
func (r *Redis) Allow(ctx context.Context, key string, n int) (Decision, error) {
	cost, d, done, err := r.g.decide(r.policy, n)
	if done {
		return d, err
	}
	stored := r.prefix + storedKey(key)
	var ask, back int64
	sh := r.shares.get(stored)
	if sh != nil {
		ok, sd, a, b, refill := sh.take(int64(n), time.Now())
		if ok {
			r.shares.local.Add(1)
			if refill {
				go r.fetchShare(stored, sh, a)
			}
			return r.fromShare(sd), nil
		}
		ask, back = a, b
	}
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	res, err := r.run(rctx, stored, cost, ask, back)
	cancel()
	if sh != nil {
		granted := err == nil && res[3] == 1
		sh.granted(ask, granted, res[1], time.Now())
	}
	if err != nil {
		if ctx.Err() != nil {
			return Decision{}, fmt.Errorf("ratelimit: %w", context.Cause(ctx))
		}
		r.health.failed(err)
		return r.degraded(), nil
	}
	r.health.succeeded()
	return r.g.decision(r.policy, res[0] == 1, res[1], res[2]), nil
}

// run is one round trip: the decision of cost ns of virtual time, a share
// of ask requests taken along if the bucket holds both, and back requests
// of an unused share given back first. It returns the script's four
// values (allowed, diff, wait, granted); on an error they are all 0.
func (r *Redis) run(ctx context.Context, stored string, cost, ask, back int64) ([4]int64, error) {
	r.trips.Add(1)
	per := r.g.requested * r.g.interval
	res, err := gcraScript.Run(ctx, r.client, []string{stored}, r.g.tau, cost, ask*per, back*per).Int64Slice()
	if err == nil && len(res) != 4 {
		err = fmt.Errorf("script returned %d values, want 4", len(res))
	}
	if err != nil {
		return [4]int64{}, err
	}
	return [4]int64(res), nil
}

// fetchShare takes the next share of ask requests for a key whose share
// runs low, in the background: the requests of the key go on being decided
// from what is left meanwhile.
func (r *Redis) fetchShare(stored string, sh *share, ask int64) {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	res, err := r.run(ctx, stored, 0, ask, 0)
	cancel()
	if err != nil {
		r.health.failed(err)
	} else {
		r.health.succeeded()
	}
	sh.granted(ask, err == nil && res[3] == 1, res[1], time.Now())
}

// fromShare estimates the header fields of a decision made from a share:
// what the bucket held after the share was taken, refilled since, plus
// what is left of the share.
func (r *Redis) fromShare(sd shareDecision) Decision {
	diff := max(sd.diff-int64(sd.elapsed), 0)
	d := r.g.decision(r.policy, true, diff, 0)
	d.Remaining = min(d.Remaining+int(sd.left), int(r.g.quota))
	return d
}

func (r *Redis) degraded() Decision {
	d := Decision{Allowed: r.mode == FailOpen, Limit: r.policy, Degraded: true}
	if !d.Allowed {
		d.RetryAfter = time.Second
	}
	return d
}

// Stats returns the limiter's counters.
func (r *Redis) Stats() Stats {
	s := r.health.stats()
	s.RoundTrips = r.trips.Load()
	s.Local = r.shares.local.Load()
	return s
}
