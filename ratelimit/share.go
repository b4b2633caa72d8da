package ratelimit

import (
	"sync"
	"sync/atomic"
	"time"
)

// Local shares take the Redis round trip off most requests of a busy key
// without giving up the shared limit. A [Redis] limiter that decides a
// request in Redis may, in the same round trip, take a share of the key's
// bucket for itself: a few more requests' worth of tokens, taken only when
// the bucket holds the request and the share together. Later requests of
// the key are then decided from the share, in this process; when it runs
// low, one more share is fetched in the background, off the request path.
//
// Why the limit still holds:
//
//   - Every request passed was paid for in Redis, by its own round trip or
//     as part of a share: instances together never pass more than the
//     bucket allows.
//   - A share is taken only while the bucket has room for it, so near the
//     limit (where the decision matters) every request goes to Redis, as
//     without shares: refusals and their Retry-After come from Redis.
//   - A share lives shareTTL; what is left of it then is given back to the
//     bucket in the next round trip of the key, so that another instance
//     can use it. What an instance may hold back from the others is at
//     most one share, and a share is at most 1/16 of the burst and the
//     rate's worth of shareTTL.
//   - Share sizes follow use: a share used up before it expires doubles
//     the next one, a share that expires mostly unused halves it.
//
// Policies whose largest share would be under minShare requests (small
// bursts and rates, where every token matters) never take shares.
const (
	shareTTL      = 100 * time.Millisecond
	minShare      = 4
	firstShare    = 8
	maxShareKeys  = 16384 // keys with a share per limiter; past it, round trips
	shareFraction = 16    // a share is at most 1/shareFraction of the burst
)

// share is one key's local share of its bucket in Redis.
type share struct {
	mu       sync.Mutex
	left     int64     // requests (of RequestedTokens) left in the share
	expires  time.Time // the share's end
	size     int64     // the next share's size, in requests
	limit    int64     // the largest size
	fetching bool      // a round trip that asks for a share is on its way
	// For the header fields of decisions made from the share: the
	// bucket's diff (ns) after the share was taken, and when.
	diff int64
	at   time.Time
}

// shares are a limiter's local shares, by stored key.
type shares struct {
	max   int64 // largest share, in requests; 0: shares are off
	m     sync.Map
	count atomic.Int64
	local atomic.Uint64 // decisions made from a share
}

func newShares(g gcra, p Policy, on bool) *shares {
	s := &shares{}
	if !on || g.interval == 0 {
		return s
	}
	byBurst := g.quota / shareFraction
	byRate := int64(p.ReplenishRate*shareTTL.Seconds()) / g.requested
	if m := min(byBurst, byRate); m >= minShare {
		s.max = m
	}
	return s
}

// get returns key's share, creating it while there is room.
func (s *shares) get(key string) *share {
	if s.max == 0 {
		return nil
	}
	if v, ok := s.m.Load(key); ok {
		return v.(*share)
	}
	if s.count.Load() >= maxShareKeys {
		s.sweep(time.Now())
		if s.count.Load() >= maxShareKeys {
			return nil
		}
	}
	v, loaded := s.m.LoadOrStore(key, &share{size: min(firstShare, s.max), limit: s.max})
	if !loaded {
		s.count.Add(1)
	}
	return v.(*share)
}

// sweep forgets the shares that have expired with nothing left and no
// round trip on its way. One with tokens left stays until its key's next
// round trip gives them back.
func (s *shares) sweep(now time.Time) {
	s.m.Range(func(k, v any) bool {
		sh := v.(*share)
		sh.mu.Lock()
		idle := !sh.fetching && (sh.left == 0 || now.After(sh.expires.Add(time.Minute)))
		sh.mu.Unlock()
		if idle && s.m.CompareAndDelete(k, v) {
			s.count.Add(-1)
		}
		return true
	})
}

// take decides n requests from the share when it holds them. It returns
// ok false when the caller must ask Redis, and then, in ask, the share to
// ask for along (0: none, another round trip asks already) and, in back,
// what is left of the share, to give back in that round trip. With ok,
// refill reports that the share ran low: the caller fetches the next one,
// of ask requests, in the background.
func (sh *share) take(n int64, now time.Time) (ok bool, d shareDecision, ask, back int64, refill bool) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	live := now.Before(sh.expires)
	if live && sh.left >= n {
		sh.left -= n
		d = shareDecision{left: sh.left, diff: sh.diff, elapsed: now.Sub(sh.at)}
		if sh.left < sh.size/2 && !sh.fetching {
			sh.fetching = true
			return true, d, sh.size, 0, true
		}
		return true, d, 0, 0, false
	}
	if live {
		// Used up before its end: the next share may be larger.
		sh.size = min(sh.size*2, sh.limit)
	} else if sh.left > sh.size/2 {
		sh.size = max(sh.size/2, minShare)
	}
	back, sh.left = sh.left, 0
	if !sh.fetching {
		sh.fetching = true
		ask = sh.size
	}
	return false, d, ask, back, false
}

// granted records the answer of a round trip that asked for a share of
// asked requests (0: it asked for none, and only gave back).
func (sh *share) granted(asked int64, ok bool, diff int64, now time.Time) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if asked == 0 {
		return
	}
	sh.fetching = false
	if !ok {
		return
	}
	sh.left += asked
	sh.expires = now.Add(shareTTL)
	sh.diff, sh.at = diff, now
}

// shareDecision is what the header fields of a decision made from a share
// are estimated from.
type shareDecision struct {
	left    int64         // requests left in the share
	diff    int64         // the bucket's diff when the share was taken
	elapsed time.Duration // since then
}
