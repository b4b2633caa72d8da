package gateway

import (
	"fmt"
	"net/http"
)

// The size check: a client sends no more than the limits allow, and is
// told which one it passed. The request target and the header fields are
// checked at the front door, before routing (limits.max_url_length,
// max_header_bytes; net/http itself cuts header fields past twice the
// limit); a body by its declared length at the front door
// (limits.max_body_bytes) and on the route (its max_body_bytes), and by
// what it actually sends on the route.

// refuseOversizedHead answers 414 or 431 when the request target or the
// header fields of r are larger than the limits, and reports whether it
// did.
func (st *state) refuseOversizedHead(w http.ResponseWriter, r *http.Request) bool {
	if len(r.RequestURI) > st.limits.MaxURLLength {
		refuse(w, http.StatusRequestURITooLong, TypeURITooLong, reasonURITooLong, fmt.Sprintf("the request target is longer than %d bytes", st.limits.MaxURLLength))
		return true
	}
	if n := headerBytes(r); n > st.limits.MaxHeaderBytes {
		refuse(w, http.StatusRequestHeaderFieldsTooLarge, TypeHeadersTooLarge, reasonHeadersTooLarge,
			fmt.Sprintf("the request header fields are larger than %d bytes", st.limits.MaxHeaderBytes))
		return true
	}
	return false
}

// headerBytes is the size of r's header fields as sent on the wire (name,
// ": ", value, CRLF), with the Host field.
func headerBytes(r *http.Request) int {
	n := len("Host: \r\n") + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// refuseLargeBody answers 413 when r declares a body larger than limit,
// and reports whether it did.
func refuseLargeBody(w http.ResponseWriter, r *http.Request, limit int64) bool {
	if r.ContentLength > limit {
		refuseBodyTooLarge(w, limit)
		return true
	}
	return false
}

// refuseBodyTooLarge answers 413 for a body over limit.
func refuseBodyTooLarge(w http.ResponseWriter, limit int64) {
	refuse(w, http.StatusRequestEntityTooLarge, TypePayloadTooLarge, reasonBodyTooLarge, fmt.Sprintf("the request body is larger than %d bytes", limit))
}

// limitBody makes the read of r's body fail past limit bytes (the proxy
// then answers 413, proxyError). It wraps the server's own writer, so
// that the server closes the connection after a body over the limit
// instead of reading the rest.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	if rec, ok := w.(*recorder); ok {
		w = rec.ResponseWriter
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
}
