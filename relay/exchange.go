package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sync/singleflight"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/token"
)

// RFC 8693 §2.1 and §3 identifiers.
const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccess    = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
)

// ExchangeConfig configures an [Exchange]. TokenURL, ClientID, ClientSecret
// (or MTLS) and Audience are required; the zero value of every other field
// is a documented default.
type ExchangeConfig struct {
	// TokenURL is the auth server's token endpoint, e.g.
	// https://auth.example/oauth2/token.
	TokenURL string
	// ClientID and ClientSecret authenticate this service at the token
	// endpoint (client_secret_basic, RFC 6749 §2.3.1). The caller's token
	// must have been issued for this client: its aud holds ClientID.
	ClientID     string
	ClientSecret string
	// Audience is the downstream service: the audience parameter of the
	// exchange (RFC 8693 §2.1) and the aud of the token it sends.
	Audience string
	// Scopes narrow the exchanged token (the scope parameter); a call may
	// ask for other scopes with [ScopedContext]. Empty: the scopes the auth
	// server grants (for gatehouse: those of the caller's token that this
	// client may ask).
	Scopes []string
	// HTTPClient calls the token endpoint (default: a client with a
	// DefaultTokenTimeout timeout over http.DefaultTransport). Its answers
	// are read through a MaxTokenResponse limit and redirects are refused.
	HTTPClient *http.Client
	// TracerProvider receives a relay.exchange span per token endpoint
	// call (tracing.go); nil means the global one.
	TracerProvider trace.TracerProvider
	// Skew: a caller token that expires within it is not exchanged
	// ([ErrTokenExpired]). 0 means DefaultSkew.
	Skew time.Duration
	// RenewBefore: a cached exchanged token is replaced this long before it
	// expires (default DefaultRenewBefore).
	RenewBefore time.Duration
	// MaxEntries bounds the cache of exchanged tokens (default
	// DefaultMaxEntries).
	MaxEntries int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// DPoP, when set, binds the exchanged tokens to its key (RFC 9449):
	// each exchange request carries a fresh proof, a use_dpop_nonce
	// answer is retried once with the server's nonce, only token_type
	// DPoP is accepted, and the Transport sends the token as "DPoP
	// <token>" with a proof per attempt (dpop.go).
	DPoP *dpop.Signer
	// MTLS, when set, makes the exchange requests over mutual TLS with the
	// workload certificate (RFC 8705): TokenURL is then the auth server's
	// mTLS endpoint alias, and without a ClientSecret the service
	// authenticates with tls_client_auth (client_id in the form). The
	// exchanged tokens are bound to the certificate and cached per
	// certificate: after a renewal the next call exchanges again. Send
	// the calls over a [CertTransport] of the same MTLS. HTTPClient.Transport
	// must then be nil.
	MTLS *MTLS
}

// Exchange trades the caller's token at the auth server for a token meant
// for the downstream service: OAuth 2.0 Token Exchange (RFC 8693) with
// grant_type urn:ietf:params:oauth:grant-type:token-exchange,
// subject_token_type access_token, audience = the downstream service and,
// optionally, a narrowed scope. The token it gets keeps the user as sub and
// names this service in act (RFC 8693 §4.1).
//
// Exchanged tokens are cached per (SHA-256 of the caller's token, audience,
// scope) until RenewBefore ahead of their expiry, and concurrent calls for
// one key share a single request to the token endpoint. An Exchange is safe
// for concurrent use.
type Exchange struct {
	tokenURL, clientID, secret, audience string
	scope                                string
	hc                                   *http.Client
	skew, renewBefore                    time.Duration
	now                                  func() time.Time
	signer                               *dpop.Signer   // nil: not DPoP-bound
	cert                                 *CertTransport // nil: not over mTLS

	cache *tokenCache
	group singleflight.Group
}

var (
	_ Source      = (*Exchange)(nil)
	_ Renewer     = (*Exchange)(nil)
	_ BoundSource = (*Exchange)(nil)
)

// NewExchange checks cfg and returns the exchanging source.
func NewExchange(cfg ExchangeConfig) (*Exchange, error) {
	if err := checkTokenURL(cfg.TokenURL); err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "" || (cfg.ClientSecret == "" && cfg.MTLS == nil):
		return nil, relayErr("exchange: ClientID and ClientSecret (or MTLS, for tls_client_auth) are required: the exchanging service authenticates as a confidential client")
	case cfg.Audience == "":
		return nil, relayErr("exchange: Audience (the downstream service) is required")
	case cfg.Skew < 0 || cfg.RenewBefore < 0 || cfg.MaxEntries < 0:
		return nil, relayErr("exchange: Skew, RenewBefore and MaxEntries must not be negative")
	}
	hc, cert, err := certClient(cfg.HTTPClient, cfg.MTLS)
	if err != nil {
		return nil, relayErr("exchange: %w", err)
	}
	e := &Exchange{
		tokenURL: cfg.TokenURL, clientID: cfg.ClientID, secret: cfg.ClientSecret, audience: cfg.Audience,
		scope:       normalizeScopes(cfg.Scopes),
		hc:          traceTokenClient(withTokenProofs(tokenClient(hc), cfg.DPoP), cfg.TracerProvider, spanExchange, grantTokenExchange),
		signer:      cfg.DPoP,
		cert:        cert,
		skew:        skewOr(cfg.Skew),
		renewBefore: orDefault(cfg.RenewBefore, DefaultRenewBefore),
		now:         clockOr(cfg.Now),
	}
	cache, err := newTokenCache(orDefault(cfg.MaxEntries, DefaultMaxEntries), e.now)
	if err != nil {
		return nil, err
	}
	e.cache = cache
	return e, nil
}

func checkTokenURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return relayErr("token URL %q is not an absolute http(s) URL", s)
	}
	return nil
}

// orDefault returns v, or def when v is zero.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Audience returns the downstream audience.
func (e *Exchange) Audience() string { return e.audience }

// DPoPSigner is the key of ExchangeConfig.DPoP, nil without.
func (e *Exchange) DPoPSigner() *dpop.Signer { return e.signer }

// Token returns a token for the downstream service, exchanged for the
// caller's token of ctx or taken from the cache.
func (e *Exchange) Token(ctx context.Context) (string, error) {
	now := e.now()
	subject, claims, err := callerToken(ctx, e.skew, now)
	if err != nil {
		return "", relayErr("exchange for %s: %w", e.audience, err)
	}
	scope := e.scopeFor(ctx)
	key, err := e.key(subject, scope)
	if err != nil {
		return "", relayErr("exchange for %s: %w", e.audience, err)
	}
	if tok, ok := e.cache.get(key); ok {
		return tok, nil
	}
	ch := e.group.DoChan(key, func() (any, error) {
		if tok, ok := e.cache.get(key); ok {
			return tok, nil // a flight that ended just before this one stored it
		}
		// The request is shared by every waiter: it must not end when the
		// first of them gives up.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultTokenTimeout)
		defer cancel()
		tok, exp, err := e.exchange(fctx, subject, scope)
		if err != nil {
			return "", err
		}
		if claims != nil && claims.ExpiresAt != 0 && (exp.IsZero() || claims.ExpiresAt.Time().Before(exp)) {
			exp = claims.ExpiresAt.Time() // never reuse it past the caller's token
		}
		if !exp.IsZero() {
			e.cache.put(key, tok, renewTime(e.now(), exp, e.renewBefore))
		}
		return tok, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", relayErr("exchange %s for %s: %w", jti(claims), e.audience, r.Err)
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", relayErr("exchange %s for %s: %w", jti(claims), e.audience, context.Cause(ctx))
	}
}

// Renew drops refused from the cache and exchanges again.
func (e *Exchange) Renew(ctx context.Context, refused string) (string, error) {
	if subject, _, ok := token.FromContext(ctx); ok {
		if key, err := e.key(subject, e.scopeFor(ctx)); err == nil {
			e.cache.drop(key, refused)
		}
	}
	return e.Token(ctx)
}

func (e *Exchange) scopeFor(ctx context.Context) string {
	if s, ok := scopesFrom(ctx); ok {
		return s
	}
	return e.scope
}

// key is the cache key of an exchange: the caller's token, the audience,
// the scope and, over mTLS, the certificate the token will be bound to, so
// that a renewed certificate never gets a token bound to the old one.
func (e *Exchange) key(subject, scope string) (string, error) {
	bound, err := boundTo(e.cert)
	if err != nil {
		return "", err
	}
	return hashToken(subject) + "\x00" + e.audience + "\x00" + scope + "\x00" + bound, nil
}

// tokenResponse is the RFC 6749 §5.1 / RFC 8693 §2.2.1 answer.
type tokenResponse struct {
	AccessToken     string      `json:"access_token"`
	IssuedTokenType string      `json:"issued_token_type"`
	TokenType       string      `json:"token_type"`
	ExpiresIn       json.Number `json:"expires_in"`
}

// errorResponse is the RFC 6749 §5.2 answer.
type errorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// exchange makes the RFC 8693 §2.1 request and checks the §2.2 answer. It
// returns the token and its expiry (zero when the answer did not say).
func (e *Exchange) exchange(ctx context.Context, subject, scope string) (string, time.Time, error) {
	form := url.Values{
		"grant_type":           {grantTokenExchange},
		"subject_token":        {subject},
		"subject_token_type":   {tokenTypeAccess},
		"requested_token_type": {tokenTypeAccess},
		"audience":             {e.audience},
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	if e.secret == "" {
		form.Set("client_id", e.clientID) // tls_client_auth (RFC 8705 §2.1)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if e.secret != "" {
		// RFC 6749 §2.3.1: id and secret are form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(e.clientID), url.QueryEscape(e.secret))
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("token endpoint answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var er errorResponse
		json.Unmarshal(body, &er) // a body that is not RFC 6749 JSON leaves the code empty
		return "", time.Time{}, newTokenError("token-exchange", resp.StatusCode, er.Error, er.ErrorDescription, subject, e.secret)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", time.Time{}, errors.New("token endpoint answer is not a JSON token response")
	}
	switch {
	case tr.AccessToken == "":
		return "", time.Time{}, errors.New("token endpoint answer has no access_token")
	case tr.IssuedTokenType != tokenTypeAccess && tr.IssuedTokenType != tokenTypeJWT:
		return "", time.Time{}, fmt.Errorf("token endpoint issued_token_type %q is not an access token (RFC 8693 §2.2.1)", tr.IssuedTokenType)
	}
	if err := checkTokenType(tr.TokenType, e.signer); err != nil {
		return "", time.Time{}, err
	}
	var exp time.Time
	if secs, err := tr.ExpiresIn.Int64(); err == nil && secs > 0 {
		exp = e.now().Add(time.Duration(secs) * time.Second)
	}
	return tr.AccessToken, exp, nil
}
