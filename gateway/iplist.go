package gateway

import "net/netip"

// The IP lists: gateway.ip applies to every request at the front door,
// a route's ip after it matched; deny wins, and a non-empty allow list
// refuses every address it does not hold. The address is the client's as
// clientip.go finds it.

// ipFilter is an allow and a deny list; deny wins.
type ipFilter struct {
	allow, deny []netip.Prefix
}

func newIPFilter(l *IPList) *ipFilter {
	if l == nil {
		return nil
	}
	// The prefixes were parsed by Config.Validate.
	return &ipFilter{allow: l.allow, deny: l.deny}
}

// allowed reports whether a may pass. An address that could not be parsed
// passes only a filter without an allow list and is never on a deny list.
func (f *ipFilter) allowed(a netip.Addr) bool {
	if f == nil {
		return true
	}
	for _, p := range f.deny {
		if p.Contains(a) {
			return false
		}
	}
	if len(f.allow) == 0 {
		return true
	}
	for _, p := range f.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
