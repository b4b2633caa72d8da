package relay

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// Transport is an http.RoundTripper that sends each request with the
// bearer token its [Source] picks for the downstream service, through a
// base transport, with a per-attempt timeout, retries of idempotent calls
// and a circuit breaker per downstream host. Use it in any http.Client:
//
//	client := &http.Client{Transport: t, Timeout: 30 * time.Second}
//
// Each request is cloned, never modified: any Authorization header it
// carries is replaced, its context (with the caller's token, deadline and
// trace span) goes to the base transport, and its body is closed on every
// path, as RoundTripper requires. When the source is a [Renewer] and the
// downstream service answers 401, the call is sent once more with a fresh
// token, if its body can be sent again.
//
// A Transport is configured once by [NewTransport] and safe for concurrent
// use. It keeps one breaker per host it has called: use one Transport per
// downstream service, or per small set of them.
type Transport struct {
	base http.RoundTripper
	src  Source
	res  *resilience
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a transport that sends through base (required: pass
// http.DefaultTransport, an otelhttp transport, a transport with mTLS...)
// with the tokens of src.
func NewTransport(base http.RoundTripper, src Source, opts ...Option) (*Transport, error) {
	if base == nil {
		return nil, relayErr("a base transport is required (http.DefaultTransport, or one wrapped for tracing or mTLS)")
	}
	if src == nil {
		return nil, relayErr("a token source is required (Relay, Exchange, ClientCredentials or Mint)")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	return &Transport{base: base, src: src, res: newResilience(cfg)}, nil
}

// RoundTrip gets the token, then sends the request with it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := hasBody(req)
	defer func() {
		if closeBody {
			req.Body.Close()
		}
	}()
	if req.URL == nil {
		return nil, relayErr("request without URL")
	}
	// http.Client drops Authorization on a redirect to another domain, then
	// calls RoundTrip again, which would set a token on it: refuse instead.
	if prev := req.Response; prev != nil && prev.Request != nil && prev.Request.URL != nil && !sameOrigin(prev.Request.URL, req.URL) {
		return nil, relayErr("%s redirected to %s://%s: %w", prev.Request.URL.Host, req.URL.Scheme, req.URL.Host, ErrCrossOriginRedirect)
	}
	ctx := req.Context()
	tok, err := t.src.Token(ctx)
	if err != nil {
		return nil, err
	}
	closeBody = false // send closes it on every path
	resp, err := t.send(req, tok, true)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	rn, ok := t.src.(Renewer)
	if !ok || !replayable(req) {
		return resp, nil
	}
	fresh, err := rn.Renew(ctx, tok)
	if err != nil {
		drainClose(resp.Body)
		return nil, err
	}
	if fresh == tok {
		return resp, nil
	}
	drainClose(resp.Body)
	return t.send(req, fresh, false)
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Hostname() + ":443"
	case "http":
		return u.Hostname() + ":80"
	}
	return u.Host
}

// send runs the attempts of one request with tok. first says that req.Body
// is unread: the first attempt sends it; every other attempt sends a copy
// from GetBody.
func (t *Transport) send(req *http.Request, tok string, first bool) (*http.Response, error) {
	host := req.URL.Host
	h := t.res.forHost(host)
	ex := h.once
	if idempotent(req.Method) && replayable(req) {
		ex = h.retrying
	}
	bodyUnread := first && hasBody(req)
	resp, err := ex.WithContext(req.Context()).GetWithExecution(func(exec failsafe.Execution[response]) (response, error) {
		r := req.Clone(exec.Context())
		switch {
		case bodyUnread:
			bodyUnread = false
		case hasBody(req):
			body, err := req.GetBody()
			if err != nil {
				return nil, relayErr("copy the request body: %w", err)
			}
			r.Body = body
		}
		r.Header.Del("Authorization")
		r.Header.Set("Authorization", "Bearer "+tok)
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		deferredCancel(exec, resp)
		return resp, nil
	})
	if bodyUnread {
		req.Body.Close() // no attempt was made: the breaker is open
	}
	switch {
	case err == nil:
		return resp, nil
	case errors.Is(err, circuitbreaker.ErrOpen):
		return nil, relayErr("%s %s: %w", req.Method, host, ErrCircuitOpen)
	case errors.Is(err, timeout.ErrExceeded):
		return nil, relayErr("%s %s: %w (%s)", req.Method, host, ErrTimeout, t.res.cfg.timeout)
	}
	return nil, relayErr("%s %s: %w", req.Method, host, err)
}
