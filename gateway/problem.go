package gateway

import (
	"net/http"

	"github.com/gatehousehq/gatehouse/internal/problem"
)

// Problem types of the gateway's own answers (RFC 9457). Refusals of the
// token check carry the types of package guard.
const (
	problemBase = "https://gatehouse.dev/problems/"
	// TypeRateLimited: a rate limit refused the request (429).
	TypeRateLimited = problemBase + "rate-limited"
	// TypeIPDenied: the client address is not allowed on the route (403).
	TypeIPDenied = problemBase + "ip-denied"
	// TypeCORSRefused: a CORS preflight from an origin, method or header
	// the route does not allow (403).
	TypeCORSRefused = problemBase + "cors-refused"
	// TypePayloadTooLarge: the request body exceeds the limit (413).
	TypePayloadTooLarge = problemBase + "payload-too-large"
	// TypeAmbiguousPath: the request path or host could be read
	// differently by the gateway and the upstream (400).
	TypeAmbiguousPath = problemBase + "ambiguous-path"
	// TypeBadClientAddress: a trusted proxy forwarded a client address
	// that cannot be read (400).
	TypeBadClientAddress = problemBase + "bad-client-address"
	// TypeTooManyInFlight: the client has max_concurrent_per_client
	// requests in flight (429).
	TypeTooManyInFlight = problemBase + "too-many-in-flight"
	// TypeHeadersTooLarge: the request header fields exceed the limit (431).
	TypeHeadersTooLarge = problemBase + "headers-too-large"
	// TypeURITooLong: the request target exceeds the limit (414).
	TypeURITooLong = problemBase + "uri-too-long"
	// TypeOverloaded: too many requests in flight, or a fail-closed rate
	// limit backend is down (503).
	TypeOverloaded = problemBase + "overloaded"
	// TypeBadGateway: the upstream could not be reached or answered
	// nothing usable (502).
	TypeBadGateway = problemBase + "bad-gateway"
	// TypeGatewayTimeout: the upstream did not answer in time (504).
	TypeGatewayTimeout = problemBase + "gateway-timeout"
	// TypeMethodNotImplemented: the request method is not among
	// allowed_methods, compared with case (501).
	TypeMethodNotImplemented = problemBase + "method-not-implemented"
	// TypeRequestTimeout: the request body did not arrive in time
	// (limits.body_idle_timeout, limits.body_timeout; 408).
	TypeRequestTimeout = problemBase + "request-timeout"
	// TypeNoRoute: no route matches the request (404).
	TypeNoRoute = problem.TypeNotFound
)

// Reasons of refused requests, the reason label of
// gatehouse_gateway_refused_total and the "refused" field of the access log.
const (
	reasonRateLimited      = "rate_limited"
	reasonRateLimitErr     = "ratelimit_unavailable"
	reasonIPDenied         = "ip_denied"
	reasonCORS             = "cors"
	reasonBodyTooLarge     = "body_too_large"
	reasonURITooLong       = "uri_too_long"
	reasonHeadersTooLarge  = "headers_too_large"
	reasonAmbiguousPath    = "ambiguous_path"
	reasonBadClientAddress = "bad_client_address"
	reasonTooManyInFlight  = "too_many_in_flight"
	reasonOverloaded       = "overloaded"
	reasonNoRoute          = "no_route"
	reasonMethod           = "method_not_implemented"
	reasonBodyTimeout      = "body_timeout"
	reasonUnauthorized     = "unauthorized"
	reasonForbidden        = "forbidden"
	reasonAuthError        = "auth_error"
	reasonExchange         = "exchange_failed"
)

// refuse writes a problem and notes the reason for logs and metrics.
func refuse(w http.ResponseWriter, status int, typ, reason, detail string) {
	if rec, ok := w.(*recorder); ok {
		rec.info.refused = reason
	}
	problem.Write(w, &problem.Problem{Type: typ, Status: status, Detail: detail})
}

// noRoute is the catch-all of the route mux.
func noRoute(w http.ResponseWriter, _ *http.Request) {
	refuse(w, http.StatusNotFound, TypeNoRoute, reasonNoRoute, "no route matches this request")
}
