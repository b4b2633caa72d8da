package gateway

import (
	"net/http"
	"strings"
)

// The header checks: what of a client's header fields the gateway acts on
// or passes upstream. At the front door, before routing, the fields that
// would change how the connection is read (chunked bodies, protocol
// upgrades); on the way upstream, the fields that tell an upstream who
// the client is or what it asked for, which only the gateway may set
// (spoofable, the forward_claims names), and the claim values the gateway
// writes into fields of its own.

// closeAfterChunked makes the server close an HTTP/1.x connection after
// answering a request whose body came chunked. A request with both
// Content-Length and Transfer-Encoding is a smuggling attempt that RFC
// 9112 §6.1 says the server must close the connection after; net/http
// drops the Content-Length of such a request before the handler runs, so
// the gateway, the edge, cannot tell it from a plain chunked request and
// closes after both. Clients that stream bodies chunked open a new
// connection for their next request; HTTP/2 is not concerned.
func closeAfterChunked(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		w.Header().Set("Connection", "close")
	}
}

// stripUpgrades removes from r the protocol upgrades the gateway does not
// pass on, and reports whether r still asks for one. Only WebSocket (RFC
// 6455) passes. "Upgrade: h2c" is gone above all: RFC 9113 §3.1 deprecates
// it, and an upstream that accepts it speaks HTTP/2 with the client on a
// connection the gateway only relays, past every route's rules (h2c
// smuggling). HTTP2-Settings, the h2c upgrade's companion, never passes.
// The request itself is served, as a server that ignores Upgrade would
// (RFC 9110 §7.8).
func stripUpgrades(h http.Header) (upgrade bool) {
	delete(h, "Http2-Settings")
	up, ok := h["Upgrade"]
	if !ok {
		return false
	}
	if len(up) == 1 && strings.EqualFold(strings.TrimSpace(up[0]), "websocket") {
		return true
	}
	// ReverseProxy passes an upgrade on only with Upgrade set; the
	// Connection field goes as hop-by-hop in any case.
	delete(h, "Upgrade")
	return false
}

// claimHeaderKey is how header names are compared with the forward_claims
// names: without case, and with "_" as "-" (CGI and WSGI servers read
// X_User and X-User as one).
func claimHeaderKey(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// spoofable are request headers (by claimHeaderKey) that tell some servers
// a client address, the original URL or another method; a client never
// gets to set them upstream, in any spelling ("X_Real_IP" too, which CGI
// and WSGI servers read as X-Real-IP). The gateway sets X-Forwarded-For,
// -Host, -Proto and Forwarded itself: of those, only "_" spellings go.
var spoofable = map[string]bool{
	"x-real-ip": true, "true-client-ip": true, "x-client-ip": true, "cf-connecting-ip": true,
	"x-forwarded-port": true, "x-forwarded-prefix": true, "x-forwarded-ssl": true, "x-forwarded-scheme": true,
	"x-original-url": true, "x-rewrite-url": true, "x-original-uri": true,
	"x-http-method-override": true, "x-http-method": true, "x-method-override": true,
	// Set by the gateway itself: only their "_" spellings are the client's.
	"x-forwarded-for": false, "x-forwarded-host": false, "x-forwarded-proto": false, "forwarded": false,
}

// dropClientHeaders removes from the outbound header h the fields only
// the gateway may set: the spoofable ones and the forward_claims names of
// every route, in every spelling (claimHeaderKey). The gateway's own
// X-Forwarded-* and forwarded claims are set after.
func (st *state) dropClientHeaders(h http.Header) {
	for k := range h {
		if strings.IndexByte(k, '_') < 0 { // canonical already: no allocation
			if st.dropHeaders[k] {
				delete(h, k)
			}
			continue
		}
		key := claimHeaderKey(k)
		if _, listed := spoofable[key]; listed || st.claimHeaders[key] {
			delete(h, k)
		}
	}
}

// headerSafe drops what may not stand in a header value (control
// characters), so that a claim cannot inject a header.
func headerSafe(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
