package authserver

import (
	"strings"
	"sync"
	"time"
)

// ThrottleConfig tunes the login throttle: after Free failures for one
// account or one IP, each further attempt must wait Base * 2^(n-Free), at
// most Max. Zero fields take the defaults (5 failures, 1s, 15m).
type ThrottleConfig struct {
	Free int
	Base time.Duration
	Max  time.Duration
}

// throttle counts recent login failures per account and per client IP and
// hands out growing delays (brute-force protection). Memory is bounded: the
// oldest entries go when it is full.
type throttle struct {
	cfg ThrottleConfig
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*failures
}

type failures struct {
	n       int
	last    time.Time
	blocked time.Time // no attempt before
}

const throttleEntries = 100000

func newThrottle(cfg ThrottleConfig, now func() time.Time) *throttle {
	if cfg.Free <= 0 {
		cfg.Free = 5
	}
	if cfg.Base <= 0 {
		cfg.Base = time.Second
	}
	if cfg.Max <= 0 {
		cfg.Max = 15 * time.Minute
	}
	return &throttle{cfg: cfg, now: now, entries: map[string]*failures{}}
}

// wait returns how long the caller must wait before another attempt for any
// of the keys ("user:alice", "ip:10.0.0.1"); zero means go ahead.
func (t *throttle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var longest time.Duration
	for _, k := range keys {
		if f := t.entries[k]; f != nil && f.blocked.After(now) {
			longest = max(longest, f.blocked.Sub(now))
		}
	}
	return longest
}

// fail records a failed attempt for each key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if len(t.entries) >= throttleEntries {
		t.prune(now)
	}
	for _, k := range keys {
		f := t.entries[k]
		if f == nil || now.Sub(f.last) > t.cfg.Max*2 {
			f = &failures{}
			t.entries[k] = f
		}
		f.n++
		f.last = now
		free := t.cfg.Free
		if strings.HasPrefix(k, "ip:") {
			// Many users may share an address (NAT, a proxy): an IP gets
			// ten times the free attempts of an account.
			free *= 10
		}
		if f.n >= free {
			d := t.cfg.Base << min(f.n-free, 20)
			f.blocked = now.Add(min(d, t.cfg.Max))
		}
	}
}

// succeed clears the account's failures (not the IP's).
func (t *throttle) succeed(key string) {
	t.mu.Lock()
	delete(t.entries, key)
	t.mu.Unlock()
}

func (t *throttle) prune(now time.Time) {
	for k, f := range t.entries {
		if now.Sub(f.last) > t.cfg.Max {
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
