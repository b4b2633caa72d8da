package gateway

import (
	"net/netip"
	"sync"
)

// The per-client bound of requests in flight
// (limits.max_concurrent_per_client), so that one client, reading slowly
// or holding streams open, cannot take every max_concurrent slot.

// clientSlots bounds the requests in flight per client address.
type clientSlots struct {
	max int
	mu  sync.Mutex
	n   map[netip.Addr]int // only addresses with requests in flight
}

// take reports whether a has a free slot, and takes it.
func (c *clientSlots) take(a netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[a] >= c.max {
		return false
	}
	c.n[a]++
	return true
}

// give returns a slot of a.
func (c *clientSlots) give(a netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[a] <= 1 {
		delete(c.n, a)
		return
	}
	c.n[a]--
}
