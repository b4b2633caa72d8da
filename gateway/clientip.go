package gateway

import (
	"net/http"
	"net/netip"
	"strings"
)

// The client address: whom the IP lists, the rate limits keyed by ip and
// the per-client bounds see. The peer, unless it is a trusted proxy; then
// the right-most address of X-Forwarded-For (or Forwarded) that is not a
// trusted proxy itself.

// DefaultClientIPv6Prefix is how many leading bits of an IPv6 client
// address are one client for the rate limits and per-client bounds: one
// host usually holds a whole /64 (RFC 6177 hands sites /48 to /56), so
// keying by the whole address would give it 2^64 buckets.
const DefaultClientIPv6Prefix = 64

// clientKey is the address that stands for the client a: an IPv4 address
// itself, an IPv6 address cut to its first bits.
func clientKey(a netip.Addr, bits int) netip.Addr {
	if !a.Is6() || bits <= 0 || bits >= 128 {
		return a
	}
	return netip.PrefixFrom(a, bits).Masked().Addr()
}

// clientAddr returns the client's address and whether the peer is a
// trusted proxy. Only then do X-Forwarded-For and Forwarded count: the
// client is the right-most address in them that is not itself a trusted
// proxy (Caddy's and nginx's real_ip_recursive rule), so that a client
// cannot choose its address by sending the header itself.
func (st *state) clientAddr(r *http.Request) (netip.Addr, bool) {
	peer := peerAddr(r.RemoteAddr)
	if !st.isTrusted(peer) {
		return peer, false
	}
	var hops []string
	if !st.forwarded {
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, h := range strings.Split(v, ",") {
				hops = append(hops, strings.TrimSpace(h))
			}
		}
	} else if fwd := r.Header.Values("Forwarded"); len(fwd) > 0 {
		elems, err := forwardedElements(fwd) // forwardedheader.go
		if err != nil {
			return netip.Addr{}, true // garbage, as below
		}
		hops = forAddrs(elems)
	}
	if len(hops) == 0 {
		return peer, true
	}
	if _, a, ok := clientHop(hops, st.trusted); ok {
		return a, true
	}
	// Garbage where a trusted proxy should have written the address it
	// saw: the client is unknown (an invalid Addr, which serveHTTP
	// refuses), never the proxy itself.
	return netip.Addr{}, true
}

// clientHop is the client among hops, the addresses proxies appended
// (X-Forwarded-For, or the for= of each Forwarded element), and its
// index: walking from the right, the first address that is not a trusted
// proxy, or the left-most when all are. ok is false when an address on
// the way does not parse (or is missing), and without hops.
func clientHop(hops []string, trusted []netip.Prefix) (int, netip.Addr, bool) {
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			return 0, netip.Addr{}, false
		}
		if i == 0 || !inPrefixes(trusted, a) {
			return i, a, true
		}
	}
	return 0, netip.Addr{}, false
}

func (st *state) isTrusted(a netip.Addr) bool { return inPrefixes(st.trusted, a) }

// inPrefixes reports whether a is in one of prefixes (a list of trusted
// proxies).
func inPrefixes(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr parses the RemoteAddr of a request.
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	a, _ := netip.ParseAddr(remote)
	return a.Unmap().WithZone("")
}

// parseHop reads one X-Forwarded-For or Forwarded for= value: an address,
// with or without port, IPv6 in brackets.
func parseHop(s string) (netip.Addr, bool) {
	// Zones are dropped: prefixes never contain a zoned address.
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}
