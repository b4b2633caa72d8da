// Package pubsub keeps one Redis subscription alive for packages cache and
// revocation, and tells them when they may have missed a message.
//
// Redis pub/sub delivers a message only to the connections subscribed when
// it is published: a subscriber whose connection drops misses what is
// published until it subscribes again. A [Subscriber] therefore reports
// every loss ([Handler.Lost]) and, after every subscription (the first and
// each one that follows a loss), calls [Handler.Sync] before it delivers
// any message published after the subscription took effect. The caller
// reloads (revocation) or drops (cache) what it holds in Sync; Synced is
// true only between a successful Sync and the next loss.
//
// A silent connection (a cut network, a stopped server) is found by a PING
// sent after Interval without traffic: when neither its answer nor any
// message arrives within a second Interval, the connection counts as lost.
package pubsub

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Handler is what a Subscriber calls, always from its one goroutine, so
// the calls never overlap.
type Handler struct {
	// Sync runs after each subscription, before the messages that follow it;
	// an error counts as a loss and a new subscription is made after a
	// back-off. It is given a context that ends after Config.Timeout.
	Sync func(ctx context.Context) error
	// Message receives each message's payload.
	Message func(payload string)
	// Lost is called when the subscription may have missed messages
	// (optional).
	Lost func(err error)
}

// Config tunes a Subscriber; zero values take the defaults.
type Config struct {
	// Interval without traffic after which a PING checks the connection
	// (default 1s). A silent loss is found within two intervals.
	Interval time.Duration
	// Timeout bounds each Sync (default 5s).
	Timeout time.Duration
	// MaxBackoff caps the pause between attempts to subscribe (default 2s).
	MaxBackoff time.Duration
	Logger     *slog.Logger
	// Name appears in log lines ("cache", "revocation").
	Name string
}

// Stats count a Subscriber's life.
type Stats struct {
	// Synced reports whether the subscription is live and synced now.
	Synced bool
	// Syncs counts successful Syncs (the first one included).
	Syncs uint64
	// Losses counts lost subscriptions and failed Syncs.
	Losses uint64
	// Messages counts delivered messages.
	Messages uint64
}

// Subscriber holds one subscription to one channel. It is safe for
// concurrent use.
type Subscriber struct {
	client  redis.UniversalClient
	channel string
	h       Handler
	cfg     Config

	synced   atomic.Bool
	syncs    atomic.Uint64
	losses   atomic.Uint64
	messages atomic.Uint64

	mu      sync.Mutex
	syncedC chan struct{} // closed while synced; replaced on loss
	ps      *redis.PubSub // the current subscription, closed by Close to end a read

	cancel context.CancelFunc
	done   chan struct{}
}

// Start subscribes to channel in a new goroutine and returns at once; it
// does no I/O itself. Close stops it.
func Start(client redis.UniversalClient, channel string, h Handler, cfg Config) *Subscriber {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Subscriber{
		client: client, channel: channel, h: h, cfg: cfg,
		syncedC: make(chan struct{}),
		cancel:  cancel,
		done:    make(chan struct{}),
	}
	go s.run(ctx)
	return s
}

// Synced reports whether the subscription is live and the last Sync
// succeeded after it began.
func (s *Subscriber) Synced() bool { return s.synced.Load() }

// WaitSynced blocks until the subscriber is synced or ctx ends.
func (s *Subscriber) WaitSynced(ctx context.Context) error {
	for {
		s.mu.Lock()
		c := s.syncedC
		s.mu.Unlock()
		select {
		case <-c:
			if s.synced.Load() {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return errors.New("pubsub: subscriber closed")
		}
	}
}

// Stats returns the counters.
func (s *Subscriber) Stats() Stats {
	return Stats{Synced: s.synced.Load(), Syncs: s.syncs.Load(), Losses: s.losses.Load(), Messages: s.messages.Load()}
}

// Close stops the subscriber and waits for its goroutine.
func (s *Subscriber) Close() error {
	s.cancel()
	s.mu.Lock()
	if s.ps != nil {
		_ = s.ps.Close()
	}
	s.mu.Unlock()
	<-s.done
	return nil
}

func (s *Subscriber) run(ctx context.Context) {
	defer close(s.done)
	defer s.lose(nil)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		ps := s.client.Subscribe(ctx, s.channel)
		s.mu.Lock()
		s.ps = ps
		s.mu.Unlock()
		if ctx.Err() != nil { // Close ran before s.ps was set
			_ = ps.Close()
			return
		}
		synced, err := s.receive(ctx, ps)
		s.mu.Lock()
		s.ps = nil
		s.mu.Unlock()
		_ = ps.Close()
		if ctx.Err() != nil {
			return
		}
		s.lose(err)
		if synced {
			backoff = 50 * time.Millisecond
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, s.cfg.MaxBackoff)
	}
}

// receive reads from one subscription until it fails; synced reports
// whether a Sync succeeded on it.
func (s *Subscriber) receive(ctx context.Context, ps *redis.PubSub) (synced bool, err error) {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.cfg.Interval)
		if err != nil {
			if ctx.Err() != nil {
				return synced, nil
			}
			if !isTimeout(err) {
				return synced, err
			}
			if pinged {
				return synced, errors.New("pubsub: no answer to PING")
			}
			if err := ps.Ping(ctx); err != nil {
				return synced, err
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != s.channel {
				continue
			}
			if err := s.sync(ctx); err != nil {
				return synced, err
			}
			synced = true
		case *redis.Message:
			if m.Channel == s.channel && s.synced.Load() {
				s.messages.Add(1)
				s.h.Message(m.Payload)
			}
		}
	}
}

func (s *Subscriber) sync(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	if err := s.h.Sync(sctx); err != nil {
		return err
	}
	s.syncs.Add(1)
	if !s.synced.Swap(true) {
		s.mu.Lock()
		close(s.syncedC)
		s.mu.Unlock()
		s.cfg.Logger.Info(s.cfg.Name+": redis subscription synced", "channel", s.channel)
	}
	return nil
}

// lose marks the subscription as not synced; err nil means a clean stop.
func (s *Subscriber) lose(err error) {
	if err != nil {
		s.losses.Add(1)
	}
	was := s.synced.Swap(false)
	if was {
		s.mu.Lock()
		s.syncedC = make(chan struct{})
		s.mu.Unlock()
	}
	if err == nil {
		return
	}
	// One warning per outage; the retries that follow log at debug level.
	level := slog.LevelDebug
	if was || s.losses.Load() == 1 {
		level = slog.LevelWarn
	}
	s.cfg.Logger.Log(context.Background(), level, s.cfg.Name+": redis subscription lost", "channel", s.channel, "err", err)
	if s.h.Lost != nil {
		s.h.Lost(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
