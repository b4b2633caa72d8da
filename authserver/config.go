package authserver

import (
	"crypto/x509"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
)

// Defaults of a [Server].
const (
	DefaultAccessTokenTTL  = 15 * time.Minute
	DefaultRefreshTokenTTL = 30 * 24 * time.Hour
	DefaultIDTokenTTL      = 15 * time.Minute
	DefaultCodeTTL         = 60 * time.Second
	DefaultKeyReload       = 30 * time.Second
	// MaxFormBytes bounds every request body of the endpoints.
	MaxFormBytes = 64 << 10
	leeway       = token.DefaultLeeway
)

// Config configures a [Server]. Issuer and Store are required; the zero
// value of every other field is a documented default.
type Config struct {
	// Issuer is the issuer identifier: the iss of every token and the base
	// URL of the endpoints, e.g. https://auth.example or
	// http://127.0.0.1:9000. No query, no fragment, no trailing slash.
	Issuer string
	// Store keeps users, clients, codes, refresh tokens, revocations and
	// signing keys.
	Store identity.Store
	// AccessTokenTTL (default 15m), RefreshTokenTTL (default 30 days),
	// IDTokenTTL (default 15m) and CodeTTL (default 60s, at most 60s) are
	// the lifetimes of what the server issues; a client's own TTLs win.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	IDTokenTTL      time.Duration
	CodeTTL         time.Duration
	// SigningAlgorithm of generated signing keys (default ES256).
	SigningAlgorithm keys.Algorithm
	// KeyReload is how often signing keys and revocations are reloaded from
	// the store, so that several instances and `gatehouse keys rotate` agree
	// (default 30s).
	KeyReload time.Duration
	// RefreshTokenGrace is how long after a refresh token's rotation the
	// same client presenting it again gets the same answer, not a reuse
	// verdict (default DefaultRefreshTokenGrace, 15s; negative: off; see
	// refresh_grace.go).
	RefreshTokenGrace time.Duration
	// KeyPublishAhead is how long a key made by a scheduled rotation is
	// published before it signs (default: KeyReload plus the JWKS cache
	// age of 5m plus 30s; see signing.go).
	KeyPublishAhead time.Duration
	// RotateEvery, when set, makes the server rotate its signing key once
	// the active key is older than this (checked at every reload). Zero:
	// rotate only with `gatehouse keys rotate`.
	RotateEvery time.Duration
	// Legacy, when set, lets token exchange accept opaque session tokens of
	// an existing system (see [LegacySessions]).
	Legacy *LegacySessions
	// Logger receives audit events and errors (default: discarded).
	Logger *slog.Logger
	// TracerProvider receives the server's spans and MeterProvider its
	// token endpoint histogram (tracing.go, metrics.go); nil means the
	// global ones. Without a tracer provider that exports, Handler is not
	// wrapped.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Throttle tunes the login throttle of the password grant and the
	// login form, per account and per IP (zero value: the defaults, 5
	// failures, 1s, 15m; see throttle.go).
	Throttle ThrottleConfig
	// ClientThrottle tunes the throttle of failed client authentication
	// with a secret, per client id and per IP (zero value: the defaults, 5
	// failures, 1s, 1m; see client_secret_check.go).
	ClientThrottle ThrottleConfig
	// Argon2Concurrency bounds the argon2id verifications (passwords,
	// client secrets) in flight (default runtime.GOMAXPROCS), and
	// Argon2Queue how many more requests wait for one, at most 2s (default
	// 8 per slot; negative: none wait); a request past both is answered
	// 503 temporarily_unavailable with Retry-After (see hashgate.go).
	Argon2Concurrency int
	Argon2Queue       int
	// Revocations, when set, receives every revocation the server records
	// (revocation endpoint, logout everywhere, a reused code), after it is
	// stored: a *revocation.List on Redis pushes it to every guard and
	// gateway. At start the server adds the stored, unexpired revocations
	// to it again. When it fails, the revocation endpoint answers 503 (the
	// entry stays stored; a retry is harmless). Nil: revocations stay in
	// the store and the server's own deny list.
	Revocations RevocationPublisher
	// DenyList is where the server keeps its deny list: every revocation
	// it records, stores, reloads or receives from Revocations. Pass the
	// in-memory *revocation.List that the gateway and guards of the same
	// process check (revocation.NewMemory), and a revocation reaches them
	// at once, without Redis. Nil: a list of the server's own.
	DenyList *revocation.List
	// AssertionReplay, when set, records the jti of every accepted
	// private_key_jwt client assertion where every instance sees it
	// (redisjti.New on the Redis the instances share), so that an
	// assertion is used once across instances, not once per instance.
	// While it fails, private_key_jwt is refused with 503
	// temporarily_unavailable (fail closed); client secrets are not
	// affected. Nil: each instance remembers the jtis it accepted, which
	// catches a replay to the same instance only (see assertion.go).
	AssertionReplay ReplayStore
	// MTLSURL is the base URL of the mutual-TLS listener that serves
	// MTLSHandler (RFC 8705 §5, mtls_endpoint_aliases), e.g.
	// https://auth.example:9443; empty: no mTLS listener, and discovery
	// lists neither the TLS client authentication methods nor bound
	// tokens (see mtls.go).
	MTLSURL string
	// MTLSClientCAs are the CAs a tls_client_auth certificate must chain
	// to (for gatehouse workloads, the SPIFFE CA of 'gatehouse ca'). Nil:
	// tls_client_auth is refused; self_signed_tls_client_auth needs none.
	MTLSClientCAs *x509.CertPool
	// RequirePAR requires every client to push its authorization requests
	// (RFC 9126 §5, require_pushed_authorization_requests); a client's own
	// RequirePAR requires it of that client.
	RequirePAR bool
	// PushedRequestTTL is the lifetime of a pushed request's request_uri
	// (default DefaultPushedRequestTTL, 60s; at most 10m; see par.go).
	PushedRequestTTL time.Duration
	// DPoP configures DPoP proofs (RFC 9449) at the token endpoint and
	// userinfo: the window, server nonces and the shared jti replay cache
	// (see dpop_check.go).
	DPoP DPoPConfig
}
