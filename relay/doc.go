// Package relay is the outbound half of a service: an http.RoundTripper
// that picks, for every call, the bearer token the downstream service
// should see ([Transport]), over a separate one that protects the call
// with a timeout, retries and a circuit breaker ([Resilient]).
//
// The inbound guard (package guard) verifies the caller's token and puts it
// in the request context with token.NewContext; relay takes it from there
// with token.FromContext. A [Source] picks the token in one of four modes:
//
//   - [Relay] passes the caller's token on as it is (a users service calling
//     profiles, a gateway's TokenRelay). No token in the context is
//     [ErrNoToken] and a token that expires within the skew (5s) is
//     [ErrTokenExpired]: nothing is sent.
//   - [Exchange] trades it at the auth server (RFC 8693 token exchange) for
//     a token whose aud is the downstream service, whose scopes are narrowed
//     to what the call needs, and whose act names this service; cached per
//     (caller token, audience, scope), one request in flight per key.
//   - [ClientCredentials] is the service's own token, no user (RFC 6749
//     §4.4 through golang.org/x/oauth2/clientcredentials): cached, renewed
//     before it expires with one request in flight, and renewed at once when
//     the downstream service answers 401.
//   - [Mint] signs a token of at most 60 seconds for the user, with the
//     service's own key or an HS256 shared secret (the accounts → admin
//     scenario).
//
// [OAuth2Source] takes any golang.org/x/oauth2 TokenSource instead.
//
// # Walkthrough
//
// Service A (users) calls service B (profiles) on behalf of its caller.
// Build the transport once, at start-up, and share it:
//
//	src, err := relay.NewExchange(relay.ExchangeConfig{
//		TokenURL:     "https://auth.example/oauth2/token",
//		ClientID:     "users",
//		ClientSecret: secret,
//		Audience:     "profiles",
//		Scopes:       []string{"profile:read"},
//	})
//	t, err := relay.NewTransport(nil, src, // nil: over http.DefaultTransport
//		relay.WithTimeout(2*time.Second), relay.WithRetries(2), relay.WithBreaker(5, 30*time.Second))
//	profiles := &http.Client{Transport: t, Timeout: 10 * time.Second}
//
// In a handler behind the guard, make the request with the request's
// context; that is all it takes for the token to travel:
//
//	func handler(w http.ResponseWriter, r *http.Request) {
//		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, profilesURL+"/profiles/42", nil)
//		resp, err := profiles.Do(req)
//		switch {
//		case errors.Is(err, relay.ErrTokenExpired): // 401: let the client renew
//		case errors.Is(err, relay.ErrCircuitOpen):  // 503: profiles is down, we knew without asking
//		}
//		...
//	}
//
// A call that needs fewer scopes than the default asks with
// [ScopedContext]. Any Authorization header on the request is replaced, so
// an incoming bearer token copied with the request's headers does not leak
// to the next hop (other headers, such as Cookie, are the caller's to
// copy or not). A redirect to another origin is refused
// ([ErrCrossOriginRedirect]): a token goes only where the caller sent it.
//
// # Goroutines (the "thread context" question)
//
// Java frameworks keep the caller's token in a thread-local and must copy it
// into every thread a request starts. In Go the token is a value of the
// request's context.Context, so a goroutine has it when it is given that
// context — nothing to copy, nothing to clean up. Fan out with errgroup:
//
//	g, ctx := errgroup.WithContext(r.Context())
//	for _, id := range ids {
//		g.Go(func() error {
//			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, profilesURL+"/profiles/"+id, nil)
//			resp, err := profiles.Do(req) // carries the caller's token
//			...
//		})
//	}
//	err := g.Wait() // the first error cancels the others
//
// A goroutine started with context.Background() has no token and fails with
// [ErrNoToken] instead of calling without one. Example_fanOut runs this.
//
// # Tracing
//
// With a tracer provider that exports ([WithTracerProvider], or the global
// one set with otel.SetTracerProvider before the transport is built), each
// attempt is a client span of otelhttp, child of the span in the caller's
// context, and the outgoing request carries its traceparent (the global
// propagator: set propagation.TraceContext and Baggage). A token endpoint
// call of an [Exchange] or a [ClientCredentials] is a span of its own,
// relay.exchange or relay.client_credentials (their configs'
// TracerProvider). Without such a provider nothing is wrapped. The metric
// gatehouse.relay.calls counts the calls by outcome ([WithMeterProvider]).
// Do not wrap the base in otelhttp as well: each attempt would be two
// client spans. docs/observability.md lists the spans and metrics.
//
// # Layers
//
// A [Transport] is a token layer over a [Resilient], which is over the base
// transport:
//
//	Transport: Source.Token, clone, Authorization, on 401 Renewer.Renew and once more
//	  └ Resilient: per-attempt timeout, retries of idempotent calls, breaker per host
//	      └ (DPoP-bound tokens: a fresh proof per attempt, one repeat on use_dpop_nonce)
//	          └ (tracing: otelhttp client spans, tracing.go)
//	              └ base: http.DefaultTransport, a CertTransport (mTLS)
//
// The token layer is on top: a retry after a 401 goes back through it and
// gets a fresh token (Exchange and ClientCredentials drop the refused one
// from their cache, Mint signs a new one, Relay answers ErrTokenExpired
// when the caller's token expired during the call), while the retries of
// the resilience layer, after a 5xx or a timeout, resend the token they
// were given; a token endpoint that fails never opens the downstream
// host's breaker. [NewTransport] builds both layers; [NewResilient] builds
// the lower one alone, for calls without a token, or to share one host's
// breakers among the transports of several sources:
//
//	payments, err := relay.NewResilient(nil, relay.WithTimeout(5*time.Second))
//	onBehalf, err := relay.NewTransport(payments, exchange)
//	asItself, err := relay.NewTransport(payments, clientCredentials)
//
// # Bound tokens
//
// [Exchange] and [ClientCredentials] can obtain sender-constrained tokens,
// which a thief cannot use without the service's key:
//
//   - DPoP (RFC 9449): with ExchangeConfig.DPoP or
//     ClientCredentialsConfig.DPoP (a dpop.Signer: dpop.GenerateSigner at
//     start-up, or a key of the service's), every token request carries a
//     proof, a 400 use_dpop_nonce answer with a DPoP-Nonce is retried once
//     with the nonce (remembered per origin), and only token_type DPoP is
//     accepted. The [Transport] then sends "Authorization: DPoP <token>"
//     and signs a proof (htm, htu without query and fragment, ath, the
//     server's nonce) for each attempt, below the resilience layer: a
//     retry never resends a proof, which the resource server would refuse
//     as replayed. A 401 with WWW-Authenticate: DPoP error="use_dpop_nonce"
//     and a DPoP-Nonce is repeated once with the nonce.
//   - mTLS (RFC 8705): with ExchangeConfig.MTLS or
//     ClientCredentialsConfig.MTLS (an [MTLS]: the workload identity, a
//     *workload.Identity, and the tls.Config that verifies the server),
//     the token requests go over mutual TLS to the auth server's mTLS
//     endpoint alias, authenticated by the certificate (tls_client_auth:
//     client_id, no secret), and the tokens are bound to it. Send the
//     calls over a [CertTransport] of the same MTLS. When the identity
//     renews its certificate, the next call opens connections with the
//     new one and fetches a token bound to it first (tokens are kept per
//     certificate thumbprint): the old token is not sent again. A 401
//     still renews once.
//
// [Relay] cannot prove possession of a caller's bound token (it does not
// hold the caller's key): such a token is refused with [ErrBoundToken]
// before anything is sent, unless Relay.UnsafePassBoundTokens passes it on
// as Bearer to a downstream service that does not enforce the binding.
// Exchange it instead, for a token bound to this service's key.
//
// No proof, nonce or token appears in the errors of this package: token
// endpoint error descriptions lose anything shaped like a JWT.
//
// # Resilience
//
// [Resilient] is built on github.com/failsafe-go/failsafe-go, per call: a
// timeout on each attempt until the response headers arrive
// ([WithTimeout], [ErrTimeout]); retries with exponential backoff and
// jitter for idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) whose
// body can be sent again, from Request.GetBody ([WithRetries],
// [WithBackoff]) — a POST is sent once; and a circuit breaker per
// downstream host that opens after consecutive failures (transport errors,
// timeouts, 5xx) and then answers [ErrCircuitOpen] at once, without a
// request, until a trial call after the delay succeeds ([WithBreaker]).
// The whole call, retries included, is bounded by the request's context
// and http.Client.Timeout.
//
// Token endpoint calls have a timeout of their own and their answers are
// read through a 1 MiB limit. Errors say what failed and wrap the cause;
// they never contain a token (at most its jti).
//
// # gRPC
//
// Package relay/relaygrpc has the client interceptors that send the same
// tokens as "authorization: Bearer ..." metadata; a service that imports
// relay alone does not link gRPC.
package relay
