// Package guard is the gate of a service: inbound net/http middleware that
// checks the caller's bearer token on every request, and rules that decide
// what the caller may do.
//
// A guard is built once from a token.Verifier (one issuer, this service's
// audience) and shared by every request:
//
//	src, _ := keys.NewRemoteFromIssuer(ctx, "https://auth.example")
//	v, _ := token.NewVerifier(src, "https://auth.example", "orders")
//	g, _ := guard.New(v)
//
// # Checking the token
//
// [Guard.Middleware] takes the token from "Authorization: Bearer" (RFC 6750
// §2.1; exactly one header; optionally a cookie, [WithCookie]; never the
// query string), verifies it, and puts the caller in the request context:
//
//	http.Handle("/", g.Middleware(app))
//
//	func app(w http.ResponseWriter, r *http.Request) {
//		p, _ := guard.PrincipalFrom(r.Context()) // Subject, ClientID, Scopes, Roles, Groups, Org, Email, TokenID, Claims
//		...
//	}
//
// The same context carries the raw token and claims for token.FromContext,
// which is where package relay finds the token to pass on to the next
// service, also from goroutines started with the request context.
//
// Refusals follow RFC 6750 §3: 401 with WWW-Authenticate: Bearer realm=...
// (no error attribute when no token was sent; error="invalid_token" and an
// error_description when the token was refused), 403 with
// error="insufficient_scope" and scope=... when a scope rule refuses, 503 when
// the token could not be checked (token.ErrUnavailable). Bodies are RFC 9457
// application/problem+json with stable type URIs, or whatever the service's
// [ErrorWriter] writes ([WithErrorWriter]). Every refusal is one audit event
// in the [WithLogger] log: reason, status, route, sub, client and jti, never
// the token.
//
// # Rules
//
// A [Rule] is a function of the request and the verified [Principal]. The
// constructors cover what Spring's authorizeHttpRequests and @PreAuthorize
// do: [Authenticated], [Role], [AnyRole], [Scope] (scope string and scp
// array), [Group], [SameOrg], [Owner], combined with [All], [Any] and
// [Not]; package guard/guardcel compiles a CEL expression into a rule at
// start-up:
//
//	canDelete := guard.Any(guard.Role("admin"), guard.Owner(ownerOfOrder))
//
// Attach rules per handler with [Guard.Require], or per route on a [Mux],
// an http.ServeMux whose patterns carry rules:
//
//	mux := g.Mux()
//	mux.HandleFunc("GET /healthz", healthz, guard.Public)
//	mux.HandleFunc("GET /api/orders/{id}", getOrder, guard.Scope("orders:read"))
//	mux.HandleFunc("DELETE /api/orders/{id}", deleteOrder, canDelete)
//
// With [WithDefaultDeny] a route registered without a rule, and a path that
// matches no route, is refused; public routes say so with [Public].
//
// # Organization-scoped data
//
// The service that owns the data filters it by the caller's organization,
// [Org], in the query itself; a record of another organization is answered
// exactly like a missing one, 404, with [Guard.Refuse] and [ErrNotFound], so
// that a caller cannot learn which records other organizations have (see
// Example_organizationScopedData). [SameOrg] does the same for routes whose
// path names the organization.
//
// # Sender-constrained tokens
//
// A token with a cnf claim is good only from the holder of its key, checked
// on every request after the verifier (its cache vouches for the token,
// never for the request): cnf.x5t#S256 (RFC 8705) against the TLS client
// certificate of the request, or, behind a TLS-terminating proxy, the one
// it forwards ([WithClientCertificateHeader], from trusted proxies only);
// cnf.jkt (RFC 9449) with "Authorization: DPoP" and one DPoP proof of this
// request ([WithDPoP], [ExternalURL], [RequireNonce]). A DPoP-bound token
// sent as Bearer is refused; [RequireBound] refuses bearer tokens on a
// route. Refusals are 401 invalid_token or invalid_dpop_proof, with the
// Bearer and DPoP challenges (RFC 9449 §7.1). See docs/bound-tokens.md.
//
// # gRPC
//
// Package guard/guardgrpc has the interceptors that do the same for gRPC,
// with the token from the "authorization" metadata and rules keyed by full
// method name ([WithMethods]); refusals are the statuses Unauthenticated,
// PermissionDenied, NotFound, Unavailable and Internal. Other transports
// go through [Guard.AuthorizeCall] likewise. Neither gRPC nor CEL is linked
// by a service that imports guard alone.
//
// # Cost
//
// With the verifier's verified-token cache, a token seen before costs a
// SHA-256 and a map lookup; the guard reuses the principal it built for the
// token before and adds two context values. See BenchmarkGuard and
// BenchmarkGuardRatio.
package guard
