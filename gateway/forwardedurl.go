package gateway

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// The origin a request was sent to, for the URL its DPoP proof must name
// (htu, RFC 9449 §4.3), behind a proxy that serves several hosts
// (dpop.forwarded): the scheme of X-Forwarded-Proto and the host of
// X-Forwarded-Host (the request's Host without it), or with
// client_ip_header: forwarded the proto= and host= of Forwarded (RFC
// 7239). They are read only from a peer in trusted_proxies, and of several
// values the first, the one the client-facing proxy saw. Anything else
// counts as not forwarded, and the request's own scheme and Host name it,
// as without a proxy: a header this cannot read makes proofs fail, never
// pass. The Host header is the client's word either way; the proof's
// signature, ath and jti are what bind it to the request.

// forwardedOrigin reads the origin of requests from trusted proxies.
type forwardedOrigin struct {
	trusted []netip.Prefix
	rfc7239 bool // Forwarded instead of X-Forwarded-Proto and -Host
}

// origin is the scheme and host r was sent to ("https://api.example"),
// or "" when its peer is no trusted proxy or the proxy's headers do not
// say.
func (f *forwardedOrigin) origin(r *http.Request) string {
	if !inPrefixes(f.trusted, peerAddr(r.RemoteAddr)) {
		return ""
	}
	var proto, host string
	if f.rfc7239 {
		proto, host = forwardedProtoHost(r.Header.Values("Forwarded"))
	} else {
		proto, host = firstListValue(r.Header.Values("X-Forwarded-Proto")), firstListValue(r.Header.Values("X-Forwarded-Host"))
	}
	return originOf(proto, host, r.Host)
}

// firstListValue is the first element of a comma-separated header field
// that may come in several lines.
func firstListValue(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	first, _, _ := strings.Cut(lines[0], ",")
	return strings.TrimSpace(first)
}

// forwardedProtoHost is the proto= and host= of the first element of
// Forwarded (RFC 7239 §4), unquoted.
func forwardedProtoHost(lines []string) (proto, host string) {
	if len(lines) == 0 {
		return "", ""
	}
	first, _, _ := strings.Cut(lines[0], ",")
	for k, v := range forwardedPairs(first) { // clientip.go
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		switch strings.ToLower(k) {
		case "proto":
			proto = v
		case "host":
			host = v
		}
	}
	return proto, host
}

// originOf is the origin of scheme proto and host (reqHost when host is
// empty), or "" unless proto is http or https and the host is a host
// name or IP address with an optional port, and nothing else.
func originOf(proto, host, reqHost string) string {
	proto = strings.ToLower(proto)
	if proto != "http" && proto != "https" {
		return ""
	}
	if host == "" {
		host = reqHost
	}
	if host == "" || strings.ContainsAny(host, "/?#@\\%") {
		return ""
	}
	u, err := url.Parse(proto + "://" + host)
	if err != nil || u.Host != host || u.Hostname() == "" || u.User != nil || u.Path != "" || u.RawQuery != "" {
		return ""
	}
	return proto + "://" + strings.ToLower(host)
}
