package keys

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Set is a signing key set with rotation: one active key that signs, and the
// keys it replaced, kept for verification until every token they signed has
// expired (the retention: the longest token lifetime plus the verifiers'
// leeway), then dropped. A Set is safe for concurrent use.
type Set struct {
	retention time.Duration
	now       func() time.Time

	mu      sync.RWMutex
	active  *Key
	retired []retiredKey // oldest first
}

type retiredKey struct {
	key   *Key
	until time.Time
}

var _ Source = (*Set)(nil)

// SetOption configures a [Set]; [WithClock] is the one there is.
type SetOption interface{ applySet(*Set) error }

// NewSet returns a set whose active key is active. Retention is how long a
// replaced key stays for verification: at least the longest lifetime of a
// token it signs plus the verifiers' leeway.
func NewSet(active *Key, retention time.Duration, opts ...SetOption) (*Set, error) {
	if active == nil || !active.CanSign() {
		return nil, errors.New("keys: the active key of a set must have its private part")
	}
	if retention <= 0 {
		return nil, errors.New("keys: retention must be positive: the longest token lifetime plus leeway")
	}
	s := &Set{retention: retention, now: time.Now, active: active}
	for _, o := range opts {
		if err := o.applySet(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SigningKey returns the active key.
func (s *Set) SigningKey() *Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.active
}

// Rotate makes next the active key. The previous active key verifies tokens
// for the retention period, then leaves the set.
func (s *Set) Rotate(next *Key) error {
	if next == nil || !next.CanSign() {
		return errors.New("keys: the new active key must have its private part")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.prune(now) // a key past its retention has left the set: its kid is free
	if s.find(next.id) != nil {
		return fmt.Errorf("keys: kid %q is already in the set", next.id)
	}
	s.retired = append(s.retired, retiredKey{key: s.active, until: now.Add(s.retention)})
	s.active = next
	return nil
}

// Key returns the active key or a retired key still within its retention.
func (s *Set) Key(_ context.Context, kid string) (*Key, error) {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.active.id == kid {
		return s.active, nil
	}
	for _, r := range s.retired {
		if r.key.id == kid && now.Before(r.until) {
			return r.key, nil
		}
	}
	return nil, ErrKeyNotFound
}

// Keys returns the keys that verify now: the active key first, then the
// retired keys still within their retention, newest first.
func (s *Set) Keys() []*Key {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []*Key{s.active}
	for i := len(s.retired) - 1; i >= 0; i-- {
		if now.Before(s.retired[i].until) {
			out = append(out, s.retired[i].key)
		}
	}
	return out
}

// JWKS returns the public JWK Set of the verifying keys. It never holds
// private or symmetric material.
func (s *Set) JWKS() ([]byte, error) { return MarshalJWKS(s.Keys()...) }

func (s *Set) find(kid string) *Key {
	if s.active.id == kid {
		return s.active
	}
	for _, r := range s.retired {
		if r.key.id == kid {
			return r.key
		}
	}
	return nil
}

func (s *Set) prune(now time.Time) {
	kept := s.retired[:0]
	for _, r := range s.retired {
		if now.Before(r.until) {
			kept = append(kept, r)
		}
	}
	s.retired = kept
}
