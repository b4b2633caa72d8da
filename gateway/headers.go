package gateway

import (
	"net/http"
	"strings"
)

// Header checks of the front door, on every request before routing.

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
