package authserver

import (
	"context"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"
)

// hashGate bounds the argon2id verifications in flight (of passwords and
// client secrets): each costs tens of milliseconds of a core and 19 MiB,
// so a flood of bad credentials would otherwise take every core from the
// requests that need none (a client whose secret is cached, a token
// verification). slots verifications run at once, queue more wait, at
// most maxQueueWait; past that a request is answered 503 at once.
type hashGate struct {
	slots   chan struct{}
	queue   int64
	waiting atomic.Int64
}

// maxQueueWait bounds how long a request waits for a slot of the gate, or
// for the attempts in flight of a throttle key (throttle.go).
const maxQueueWait = 2 * time.Second

// newHashGate returns a gate of concurrency slots (default GOMAXPROCS) and
// a queue of queue waiters (default 8 per slot; negative: none).
func newHashGate(concurrency, queue int) *hashGate {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	switch {
	case queue == 0:
		queue = 8 * concurrency
	case queue < 0:
		queue = 0
	}
	return &hashGate{slots: make(chan struct{}, concurrency), queue: int64(queue)}
}

// enter takes a slot and returns its release, or nil when the gate is
// full (every slot busy and the queue full, or no slot within
// maxQueueWait or before ctx ends).
func (g *hashGate) enter(ctx context.Context) (release func()) {
	release = func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release
	default:
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		return nil
	}
	defer g.waiting.Add(-1)
	timer := time.NewTimer(maxQueueWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return release
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil
}

// busy is the answer of a request that found the gate full.
func busy() *oauthError {
	e := oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "the server is busy checking credentials; try again later")
	e.retryAfter = time.Second
	return e
}
