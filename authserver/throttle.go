package authserver

import (
	"context"
	"strings"
	"sync"
	"time"
)

// ThrottleConfig tunes a brute-force throttle (of logins, or of failed
// client authentication): after Free failures for one key (an account, a
// client id), each further attempt must wait Base * 2^(n-Free), at most
// Max; an IP address gets ten times the free failures of a key, as many
// users may share one (NAT, a proxy). Zero fields take the defaults (5
// failures, 1s, and 15m for logins, 1m for clients).
type ThrottleConfig struct {
	Free int
	Base time.Duration
	Max  time.Duration
}

// throttle counts recent failures per key ("user:alice", "client:svc",
// "ip:10.0.0.1") and hands out growing delays. An attempt is reserved
// before the password or secret is checked, under the lock that checks
// the allowance, so that N parallel guesses count as N: at most Free of
// them (and, once the allowance is spent, one at a time) reach the check.
// Memory is bounded: the oldest entries go when it is full.
type throttle struct {
	cfg ThrottleConfig
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*failures
	changed chan struct{} // closed when an attempt finishes
}

type failures struct {
	n       int       // failures recorded
	pending int       // attempts reserved and not yet finished
	last    time.Time // last failure or reservation
	blocked time.Time // no attempt before
}

const throttleEntries = 100000

func newThrottle(cfg ThrottleConfig, maxDefault time.Duration, now func() time.Time) *throttle {
	if cfg.Free <= 0 {
		cfg.Free = 5
	}
	if cfg.Base <= 0 {
		cfg.Base = time.Second
	}
	if cfg.Max <= 0 {
		cfg.Max = maxDefault
	}
	return &throttle{cfg: cfg, now: now, entries: map[string]*failures{}, changed: make(chan struct{})}
}

// free is the number of failures a key may have before it waits.
func (t *throttle) free(key string) int {
	if strings.HasPrefix(key, "ip:") {
		return t.cfg.Free * 10
	}
	return t.cfg.Free
}

// attempt is a reserved attempt; finish it with fail, succeed or release.
type attempt struct {
	t       *throttle
	keys    []string
	entries []*failures
}

// reserve reserves an attempt for every key, or none and returns how long
// to wait (see refuses). While the allowance of a key is taken by attempts
// in flight only, it waits for them to finish (at most maxQueueWait, or
// until ctx ends): a burst of good logins or of a client's first calls
// goes through in turns of Free, while a burst of guesses meets the delay
// that the first Free of them caused.
func (t *throttle) reserve(ctx context.Context, keys ...string) (*attempt, time.Duration) {
	var deadline <-chan time.Time
	t.mu.Lock()
	for {
		now := t.now()
		wait, inFlight := t.waitLocked(now, keys)
		if wait == 0 {
			break
		}
		if !inFlight {
			t.mu.Unlock()
			return nil, wait
		}
		if deadline == nil {
			timer := time.NewTimer(maxQueueWait)
			defer timer.Stop()
			deadline = timer.C
		}
		changed := t.changed
		t.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			return nil, wait
		case <-ctx.Done():
			return nil, wait
		}
		t.mu.Lock()
	}
	defer t.mu.Unlock()
	now := t.now()
	if len(t.entries) >= throttleEntries {
		t.prune(now)
	}
	a := &attempt{t: t, keys: keys, entries: make([]*failures, len(keys))}
	for i, k := range keys {
		f := t.entries[k]
		if f == nil || (f.pending == 0 && now.Sub(f.last) > t.cfg.Max*2) {
			f = &failures{}
			t.entries[k] = f
		}
		f.pending++
		f.last = now
		a.entries[i] = f
	}
	return a, 0
}

// refuses returns how long an attempt for the keys must wait, zero when
// it may go ahead. A key lets an attempt through while its failures and
// pending attempts are fewer than its allowance; once they are not, one
// attempt at a time, after its delay.
func (t *throttle) refuses(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	wait, _ := t.waitLocked(t.now(), keys)
	return wait
}

// waitLocked is refuses under t.mu; inFlight reports that only attempts in
// flight stand in the way, whose outcome decides the delay.
func (t *throttle) waitLocked(now time.Time, keys []string) (wait time.Duration, inFlight bool) {
	inFlight = true
	for _, k := range keys {
		f := t.entries[k]
		switch {
		case f == nil:
		case f.blocked.After(now):
			wait, inFlight = max(wait, f.blocked.Sub(now)), false
		case f.pending > 0 && f.n+f.pending >= t.free(k):
			wait = max(wait, t.cfg.Base)
		}
	}
	return wait, inFlight && wait > 0
}

// finishedLocked wakes the reservations waiting for attempts in flight.
func (t *throttle) finishedLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// fail records the attempt as a failure of each of its keys.
func (a *attempt) fail() {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for i, k := range a.keys {
		f := a.entries[i]
		if t.entries[k] == f {
			f.pending--
		} else { // dropped meanwhile (pruned, or cleared by a success)
			if f = t.entries[k]; f == nil {
				f = &failures{}
				t.entries[k] = f
			}
		}
		f.n++
		f.last = now
		if free := t.free(k); f.n >= free {
			d := t.cfg.Base << min(f.n-free, 20)
			f.blocked = now.Add(min(d, t.cfg.Max))
		}
	}
	t.finishedLocked()
}

// succeed clears the failures of key (the account, not the IP) and
// releases the attempt of the other keys.
func (a *attempt) succeed(key string) {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	a.releaseLocked()
	delete(t.entries, key)
}

// release finishes the attempt without counting it: the credentials were
// not checked (the server was busy, the store down).
func (a *attempt) release() {
	a.t.mu.Lock()
	defer a.t.mu.Unlock()
	a.releaseLocked()
}

func (a *attempt) releaseLocked() {
	t := a.t
	for i, k := range a.keys {
		if f := a.entries[i]; t.entries[k] == f {
			f.pending--
		}
	}
	t.finishedLocked()
}

func (t *throttle) prune(now time.Time) {
	for k, f := range t.entries {
		if f.pending == 0 && now.Sub(f.last) > t.cfg.Max {
			delete(t.entries, k)
		}
	}
	for k := range t.entries { // still full: drop arbitrary entries
		if len(t.entries) < throttleEntries*9/10 {
			break
		}
		delete(t.entries, k)
	}
}
