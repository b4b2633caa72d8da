package relay

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"

	"github.com/gatehousehq/gatehouse/dpop"
)

// ClientCredentialsConfig configures a [ClientCredentials] source.
// OAuth2.ClientID, OAuth2.TokenURL and OAuth2.ClientSecret (or MTLS) are
// required; the zero value of every other field is a documented default.
type ClientCredentialsConfig struct {
	// OAuth2 is the client of the client credentials grant (RFC 6749
	// §4.4): id, secret, token URL, scopes, extra parameters, auth style.
	OAuth2 clientcredentials.Config
	// Audience, when set, is sent as the audience parameter, so that the
	// token is issued for the downstream service (gatehouse issues a
	// client's first allowed audience otherwise).
	Audience string
	// HTTPClient calls the token endpoint (default: a client with a
	// DefaultTokenTimeout timeout over http.DefaultTransport). Its answers
	// are read through a MaxTokenResponse limit and redirects are refused.
	HTTPClient *http.Client
	// TracerProvider receives a relay.client_credentials span per token
	// endpoint call (tracing.go); nil means the global one.
	TracerProvider trace.TracerProvider
	// RenewBefore: the token is replaced this long before it expires
	// (default DefaultRenewBefore, at most half its remaining life).
	RenewBefore time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// DPoP, when set, binds the tokens to its key (RFC 9449): every token
	// request carries a fresh proof, a use_dpop_nonce answer is retried
	// once with the server's nonce, only token_type DPoP is accepted, and
	// the Transport sends the token as "DPoP <token>" with a proof per
	// attempt (dpop.go).
	DPoP *dpop.Signer
	// MTLS, when set, makes the token requests over mutual TLS with the
	// workload certificate (RFC 8705): OAuth2.TokenURL is then the auth
	// server's mTLS endpoint alias, and without a ClientSecret the client
	// authenticates with tls_client_auth (client_id in the form, no
	// secret). The tokens are bound to the certificate; a token bound to
	// a certificate that has since been renewed is not used again: the
	// next call fetches one for the new certificate (mtls.go). Send the
	// calls over a [CertTransport] of the same MTLS. HTTPClient.Transport
	// must then be nil.
	MTLS *MTLS
}

// ClientCredentials is the service's own token, with no user: the client
// credentials grant made through golang.org/x/oauth2/clientcredentials. The
// token is cached and renewed RenewBefore ahead of its expiry, with one
// request in flight however many goroutines ask. When the downstream
// service answers 401, the transport asks [ClientCredentials.Renew] for a
// fresh token and retries once.
//
// A ClientCredentials is safe for concurrent use.
type ClientCredentials struct {
	cfg         clientcredentials.Config
	hc          *http.Client
	renewBefore time.Duration
	now         func() time.Time
	signer      *dpop.Signer   // nil: not DPoP-bound
	cert        *CertTransport // nil: not over mTLS

	mu      sync.Mutex
	token   string
	renewAt time.Time // zero: when refused
	bound   string    // the certificate thumbprint token is bound to (mTLS)
	group   singleflight.Group
}

var (
	_ Source      = (*ClientCredentials)(nil)
	_ Renewer     = (*ClientCredentials)(nil)
	_ BoundSource = (*ClientCredentials)(nil)
)

// NewClientCredentials checks cfg and returns the source.
func NewClientCredentials(cfg ClientCredentialsConfig) (*ClientCredentials, error) {
	oc := cfg.OAuth2
	if err := checkTokenURL(oc.TokenURL); err != nil {
		return nil, err
	}
	switch {
	case oc.ClientID == "":
		return nil, relayErr("client credentials: ClientID is required")
	case oc.ClientSecret == "" && cfg.MTLS == nil:
		return nil, relayErr("client credentials: ClientSecret (or MTLS, for tls_client_auth) is required")
	case oc.ClientSecret == "":
		oc.AuthStyle = oauth2.AuthStyleInParams // tls_client_auth: client_id in the form, no secret
	}
	if cfg.RenewBefore < 0 {
		return nil, relayErr("client credentials: RenewBefore must not be negative")
	}
	oc.Scopes = append([]string(nil), oc.Scopes...)
	oc.EndpointParams = maps.Clone(oc.EndpointParams)
	if cfg.Audience != "" {
		if a := oc.EndpointParams.Get("audience"); a != "" && a != cfg.Audience {
			return nil, relayErr("client credentials: Audience %q and EndpointParams audience %q differ", cfg.Audience, a)
		}
		if oc.EndpointParams == nil {
			oc.EndpointParams = url.Values{}
		}
		oc.EndpointParams.Set("audience", cfg.Audience)
	}
	hc, cert, err := certClient(cfg.HTTPClient, cfg.MTLS)
	if err != nil {
		return nil, relayErr("client credentials: %w", err)
	}
	return &ClientCredentials{
		cfg:         oc,
		hc:          traceTokenClient(withTokenProofs(tokenClient(hc), cfg.DPoP), cfg.TracerProvider, spanClientCredentials, "client_credentials"),
		renewBefore: orDefault(cfg.RenewBefore, DefaultRenewBefore),
		now:         clockOr(cfg.Now),
		signer:      cfg.DPoP,
		cert:        cert,
	}, nil
}

// DPoPSigner is the key of ClientCredentialsConfig.DPoP, nil without.
func (c *ClientCredentials) DPoPSigner() *dpop.Signer { return c.signer }

// Token returns the cached token, or gets a new one when it is due for
// renewal. Concurrent callers share one request to the token endpoint.
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	if tok, ok := c.cached(); ok {
		return tok, nil
	}
	ch := c.group.DoChan("", func() (any, error) {
		if tok, ok := c.cached(); ok {
			return tok, nil // a flight that ended just before this one renewed it
		}
		// Shared by every waiter: it must not end when the first gives up.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultTokenTimeout)
		defer cancel()
		bound, err := boundTo(c.cert)
		if err != nil {
			return "", err
		}
		t, err := c.cfg.Token(context.WithValue(fctx, oauth2.HTTPClient, c.hc))
		if err != nil {
			return "", c.convert(err)
		}
		if t.AccessToken == "" {
			return "", errors.New("token endpoint answer has no access_token")
		}
		if c.signer != nil { // without DPoP, any token_type is sent as Bearer, as before
			if err := checkTokenType(t.TokenType, c.signer); err != nil {
				return "", err
			}
		}
		now := c.now()
		c.mu.Lock()
		c.token, c.renewAt, c.bound = t.AccessToken, renewTime(now, t.Expiry, c.renewBefore), bound
		if c.renewAt.IsZero() {
			c.renewAt = now.Add(100 * 365 * 24 * time.Hour) // no expires_in: until refused
		}
		c.mu.Unlock()
		return t.AccessToken, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", relayErr("client credentials for %s: %w", c.cfg.ClientID, r.Err)
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", relayErr("client credentials for %s: %w", c.cfg.ClientID, context.Cause(ctx))
	}
}

// Renew forgets refused, unless it was already replaced, and returns a
// fresh token.
func (c *ClientCredentials) Renew(ctx context.Context, refused string) (string, error) {
	c.mu.Lock()
	if c.token == refused {
		c.token, c.renewAt = "", time.Time{}
	}
	c.mu.Unlock()
	return c.Token(ctx)
}

// cached returns the token while it is not due for renewal and, over
// mTLS, while the workload certificate is the one it is bound to.
func (c *ClientCredentials) cached() (string, bool) {
	bound, err := boundTo(c.cert)
	if err != nil {
		return "", false // the flight reports the error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == "" || !c.now().Before(c.renewAt) || c.bound != bound {
		return "", false
	}
	return c.token, true
}

// convert turns an x/oauth2 refusal into a TokenError, which does not keep
// the response body.
func (c *ClientCredentials) convert(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	return newTokenError("client_credentials", status, re.ErrorCode, re.ErrorDescription, c.cfg.ClientSecret)
}
