// Package connlimit bounds the connections one client address holds open
// on a listener, so that one host cannot take every connection (and
// goroutine) of a server by opening many and keeping them busy or idle.
//
//	ln = connlimit.NewListener(ln, connlimit.Config{MaxPerAddr: 256, IPv6PrefixBits: 64})
//	srv.Serve(ln)
//
// The address is the TCP peer's: behind a proxy every connection comes
// from the proxy, so list proxies in Config.Exempt (or size MaxPerAddr for
// them). A connection past the bound is closed as soon as it is accepted;
// Accept goes on with the next one, so the server never sees it.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Config is the bound of a Listener.
type Config struct {
	// MaxPerAddr is the most connections open at once from one client
	// address; 0 or less bounds nothing.
	MaxPerAddr int
	// IPv6PrefixBits counts IPv6 peers by their first bits (64: one /64
	// is one client, as one host usually holds a whole /64); 0 or 128 by
	// the whole address. IPv4 peers are counted by their address.
	IPv6PrefixBits int
	// Exempt, when set, names peers that are not counted (trusted
	// proxies, which carry many clients' connections).
	Exempt func(netip.Addr) bool
	// OnRefuse, when set, is called with the address of each connection
	// closed for being past the bound (for a metric; it must not block).
	OnRefuse func(netip.Addr)
}

// Listener is a net.Listener that closes the connections of a client
// address past Config.MaxPerAddr. It is safe for concurrent use.
type Listener struct {
	net.Listener
	cfg     Config
	mu      sync.Mutex
	open    map[netip.Addr]int // only addresses with connections open
	refused atomic.Uint64
}

// NewListener wraps ln; without a bound (MaxPerAddr ≤ 0) it returns a
// Listener that counts nothing.
func NewListener(ln net.Listener, cfg Config) *Listener {
	return &Listener{Listener: ln, cfg: cfg, open: map[netip.Addr]int{}}
}

// Accept returns the next connection whose address is within the bound,
// closing those that are not.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || l.cfg.MaxPerAddr <= 0 {
			return c, err
		}
		key, ok := l.key(c.RemoteAddr())
		if !ok {
			return c, nil // not an IP peer (a unix socket): not counted
		}
		if l.take(key) {
			return &conn{Conn: c, l: l, key: key}, nil
		}
		c.Close()
		l.refused.Add(1)
		if l.cfg.OnRefuse != nil {
			l.cfg.OnRefuse(key)
		}
	}
}

// Refused is the number of connections closed for being past the bound.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

// key is the counting key of a peer address, and whether it is counted.
func (l *Listener) key(a net.Addr) (netip.Addr, bool) {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}, false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	if l.cfg.Exempt != nil && l.cfg.Exempt(ip) {
		return netip.Addr{}, false
	}
	if bits := l.cfg.IPv6PrefixBits; ip.Is6() && bits > 0 && bits < 128 {
		ip = netip.PrefixFrom(ip, bits).Masked().Addr()
	}
	return ip, true
}

func (l *Listener) take(key netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] >= l.cfg.MaxPerAddr {
		return false
	}
	l.open[key]++
	return true
}

func (l *Listener) give(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key] <= 1 {
		delete(l.open, key)
		return
	}
	l.open[key]--
}

// conn is a counted connection; its first Close gives its slot back.
type conn struct {
	net.Conn
	l      *Listener
	key    netip.Addr
	closed atomic.Bool
}

func (c *conn) Close() error {
	if !c.closed.Swap(true) {
		c.l.give(c.key)
	}
	return c.Conn.Close()
}

// CloseWrite half-closes a TCP connection, as net/http does before it
// closes one after an answer (its lingering close).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

var _ net.Listener = (*Listener)(nil)
