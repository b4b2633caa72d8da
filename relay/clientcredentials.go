package relay

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/singleflight"
)

// ClientCredentialsConfig configures a [ClientCredentials] source.
// OAuth2.ClientID, OAuth2.ClientSecret and OAuth2.TokenURL are required;
// the zero value of every other field is a documented default.
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
	// RenewBefore: the token is replaced this long before it expires
	// (default DefaultRenewBefore, at most half its remaining life).
	RenewBefore time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
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

	mu      sync.Mutex
	token   string
	renewAt time.Time // zero: when refused
	group   singleflight.Group
}

var (
	_ Source  = (*ClientCredentials)(nil)
	_ Renewer = (*ClientCredentials)(nil)
)

// NewClientCredentials checks cfg and returns the source.
func NewClientCredentials(cfg ClientCredentialsConfig) (*ClientCredentials, error) {
	oc := cfg.OAuth2
	if err := checkTokenURL(oc.TokenURL); err != nil {
		return nil, err
	}
	if oc.ClientID == "" || oc.ClientSecret == "" {
		return nil, relayErr("client credentials: ClientID and ClientSecret are required")
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
	return &ClientCredentials{
		cfg:         oc,
		hc:          tokenClient(cfg.HTTPClient),
		renewBefore: orDefault(cfg.RenewBefore, DefaultRenewBefore),
		now:         clockOr(cfg.Now),
	}, nil
}

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
		t, err := c.cfg.Token(context.WithValue(fctx, oauth2.HTTPClient, c.hc))
		if err != nil {
			return "", c.convert(err)
		}
		if t.AccessToken == "" {
			return "", errors.New("token endpoint answer has no access_token")
		}
		now := c.now()
		c.mu.Lock()
		c.token, c.renewAt = t.AccessToken, renewTime(now, t.Expiry, c.renewBefore)
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

func (c *ClientCredentials) cached() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == "" || !c.now().Before(c.renewAt) {
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
