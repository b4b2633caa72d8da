package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// The origin a request was sent to, for the URL its DPoP proof must name
// (htu, RFC 9449 §4.3), behind a proxy that serves several hosts
// (dpop.forwarded): the scheme of X-Forwarded-Proto and the host of
// X-Forwarded-Host, or with client_ip_header: forwarded the proto= and
// host= of Forwarded (RFC 7239); without a scheme the connection's, and
// without a host the request's Host. They are read only from a peer in
// trusted_proxies, and with dpop.forwarded_hosts the host must be listed.
//
// Which values count is the client IP's rule: the ones the proxy that
// faced the client wrote, never what the client sent itself. Proxies add
// their Forwarded element after those they received, so the elements are
// walked from the right, past those whose for= is a trusted proxy (hops
// between proxies), to the element of the first for= that is not: its
// proxy saw the client (clientHop, clientip.go).
// X-Forwarded-Proto and -Host say nothing of who wrote which value, so
// they must hold one value each (or copies of one), set by the proxy in
// place of any the client sent; several are refused. A header that
// is there but does not name one origin (it does not parse, a scheme
// other than http and https, a host with a path, user or bad port, a
// Forwarded element without a readable for= on the way) refuses the
// proof, rather than letting the request's own scheme and Host count: a
// bad header makes proofs fail, never pass. Without any of the headers
// the request's own scheme and Host name it, as without a proxy.

// errForwardedOrigin is the error of forwarded headers that do not name
// one origin; the proof is then refused.
var errForwardedOrigin = errors.New("the forwarded headers do not name one origin")

// forwardedOrigin reads the origin of requests from trusted proxies.
type forwardedOrigin struct {
	trusted []netip.Prefix
	rfc7239 bool            // Forwarded instead of X-Forwarded-Proto and -Host
	hosts   map[string]bool // dpop.forwarded_hosts; nil: any host
}

// origin is the scheme and host r was sent to ("https://api.example");
// "" when its peer is no trusted proxy or the proxy sent none of the
// headers; an error when they are there but do not name one origin.
func (f *forwardedOrigin) origin(r *http.Request) (string, error) {
	if !inPrefixes(f.trusted, peerAddr(r.RemoteAddr)) {
		return "", nil
	}
	o, err := f.forwarded(r)
	if err != nil || o == "" || f.hosts == nil {
		return o, err
	}
	if _, host, _ := strings.Cut(o, "://"); !f.hosts[host] {
		return "", fmt.Errorf("%w: the host is not one of dpop.forwarded_hosts", errForwardedOrigin)
	}
	return o, nil
}

// forwarded is the origin the proxy's headers name, before
// forwarded_hosts.
func (f *forwardedOrigin) forwarded(r *http.Request) (string, error) {
	if f.rfc7239 {
		return f.forwardedHeaderOrigin(r)
	}
	protos, hosts := r.Header.Values("X-Forwarded-Proto"), r.Header.Values("X-Forwarded-Host")
	if len(protos) == 0 && len(hosts) == 0 {
		return "", nil
	}
	proto, err := singleHeaderValue("X-Forwarded-Proto", protos)
	if err != nil {
		return "", err
	}
	host, err := singleHeaderValue("X-Forwarded-Host", hosts)
	if err != nil {
		return "", err
	}
	return originOf(proto, host, r)
}

// singleHeaderValue is the one value of a header that must hold one, or
// "" without the header: of several lines or comma-separated values, all
// must be the same (as a CDN that adds its own copy of the proxy's value
// sends them), else which one the proxy wrote cannot be told.
func singleHeaderValue(name string, lines []string) (string, error) {
	if len(lines) == 0 {
		return "", nil
	}
	one := ""
	for i, line := range lines {
		for j, v := range strings.Split(line, ",") {
			v = strings.ToLower(strings.TrimSpace(v))
			if v == "" {
				return "", fmt.Errorf("%w: %s has an empty value", errForwardedOrigin, name)
			}
			if i == 0 && j == 0 {
				one = v
			} else if v != one {
				return "", fmt.Errorf("%w: %s has several values (the proxy must set it, replacing the client's)", errForwardedOrigin, name)
			}
		}
	}
	return one, nil
}

// forwardedHeaderOrigin is the origin in the Forwarded element of the
// proxy that faced the client: walking from the right, the first whose
// for= is not a trusted proxy, or the first element when all are.
func (f *forwardedOrigin) forwardedHeaderOrigin(r *http.Request) (string, error) {
	lines := r.Header.Values("Forwarded")
	if len(lines) == 0 {
		return "", nil
	}
	elems, err := forwardedElements(lines) // forwardedheader.go
	if err != nil {
		return "", fmt.Errorf("%w: %w", errForwardedOrigin, err)
	}
	if len(elems) == 0 {
		return "", fmt.Errorf("%w: Forwarded is empty", errForwardedOrigin)
	}
	// The element of the client's address (clientip.go): the client
	// address and the proof URL come from the same one.
	i, _, ok := clientHop(forAddrs(elems), f.trusted)
	if !ok {
		return "", fmt.Errorf("%w: a Forwarded element without a for= address", errForwardedOrigin)
	}
	return originOf(elems[i]["proto"], elems[i]["host"], r)
}

// originOf is the origin of scheme proto and host, those of r's own
// connection and Host for either that is empty, or an error unless the
// scheme is http or https and the host a host name (ASCII letters,
// digits, '-', '.', '_') or an IP address, with an optional port, and
// nothing else.
func originOf(proto, host string, r *http.Request) (string, error) {
	proto = strings.ToLower(proto)
	if proto == "" {
		proto = "http"
		if r.TLS != nil {
			proto = "https"
		}
	}
	if proto != "http" && proto != "https" {
		return "", fmt.Errorf("%w: the scheme is not http or https", errForwardedOrigin)
	}
	if host == "" {
		host = r.Host
	}
	if host == "" || strings.IndexFunc(host, notHostByte) >= 0 {
		return "", fmt.Errorf("%w: the host is not a host", errForwardedOrigin)
	}
	u, err := url.Parse(proto + "://" + host)
	if err != nil || u.Host != host || u.Hostname() == "" || u.User != nil || u.Path != "" || u.RawQuery != "" {
		return "", fmt.Errorf("%w: the host is not a host", errForwardedOrigin)
	}
	return proto + "://" + strings.ToLower(host), nil
}

// notHostByte reports whether c cannot be in a host name, an IP literal
// or a port.
func notHostByte(c rune) bool {
	return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("-._:[]", c))
}
