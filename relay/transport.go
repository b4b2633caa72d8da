package relay

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehousehq/gatehouse/dpop"
)

// Transport is an http.RoundTripper that sends each request with the
// bearer token its [Source] picks for the downstream service. It is the
// token layer of a two-layer stack, over a [Resilient] that times,
// retries and breaks the calls:
//
//	Transport (token: get it, set Authorization, renew on 401)
//	  └ Resilient (per-attempt timeout, retries, breaker per host)
//	      └ base (http.DefaultTransport, otelhttp, mTLS...)
//
// The token layer is on top so that the resilience layer never asks for a
// token: a token endpoint that fails is the token's error, never a failure
// counted against the downstream host, and a call whose caller token
// expired is refused before anything is sent. The token is got once per
// call and every retry of the resilience layer resends it. A 401 is not
// retried there (it is not a failure of the host): it comes back up, and
// when the source is a [Renewer] and the body can be sent again (none, or
// Request.GetBody), the token layer asks for a fresh token and sends the
// call once more, through the resilience layer again, with its own
// attempts. So a token that expires in the middle of a call (after slow
// retries, say) is renewed transparently by the modes that cache or mint
// tokens, and is a clear [ErrTokenExpired] for the caller's own token
// ([Relay]); never a hang, never a loop.
//
// Each request is cloned, never modified: any Authorization header it
// carries is replaced, its context (with the caller's token, deadline and
// trace span) goes down the stack, and its body is closed on every path,
// as RoundTripper requires. A redirect to another origin is refused
// ([ErrCrossOriginRedirect]).
//
// A Transport is configured once by [NewTransport] and safe for concurrent
// use.
type Transport struct {
	src    Source
	next   http.RoundTripper // the resilience layer
	signer *dpop.Signer      // the DPoP key of src's tokens (BoundSource), nil for Bearer
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a transport that sends with the tokens of src
// through a [Resilient] over base (nil means http.DefaultTransport), tuned
// by opts. When base already is a *Resilient and no options are given,
// the transport sends through it as it is: transports of several sources
// to one downstream service then share its breakers.
//
//	t, err := relay.NewTransport(nil, relay.Relay{}, relay.WithTimeout(2*time.Second))
func NewTransport(base http.RoundTripper, src Source, opts ...Option) (*Transport, error) {
	if src == nil {
		return nil, relayErr("a token source is required (Relay, Exchange, ClientCredentials or Mint)")
	}
	if r, ok := base.(*Resilient); ok {
		if len(opts) > 0 {
			return nil, relayErr("the base transport is a Resilient already: tune it with NewResilient, not NewTransport")
		}
		return &Transport{src: src, next: r, signer: signerOf(src)}, nil
	}
	r, err := NewResilient(base, opts...)
	if err != nil {
		return nil, err
	}
	return &Transport{src: src, next: r, signer: signerOf(src)}, nil
}

// roundTrip gets the token, then sends the request with it; after a 401,
// once more with a renewed one. (RoundTrip, in tracing.go, counts it.)
func (t *Transport) roundTrip(req *http.Request) (*http.Response, error) {
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
	closeBody = false // the next layer closes it on every path
	resp, err := t.next.RoundTrip(t.withToken(req, tok, req.Body))
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
	body := req.Body
	if hasBody(req) {
		if body, err = req.GetBody(); err != nil {
			return nil, relayErr("copy the request body: %w", err)
		}
	}
	return t.next.RoundTrip(t.withToken(req, fresh, body))
}

// withToken returns a clone of req with body, whose Authorization is
// "Bearer tok" alone, and no DPoP header; for a DPoP-bound token, "DPoP
// tok" and a context that asks the proof layer below the resilience layer
// for a proof per attempt (dpop.go).
func (t *Transport) withToken(req *http.Request, tok string, body io.ReadCloser) *http.Request {
	if t.signer != nil {
		r := req.Clone(withProofs(req.Context(), t.signer, tok))
		r.Body = body
		r.Header.Set("Authorization", "DPoP "+tok)
		delete(r.Header, headerDPoP) // the proof layer signs one per attempt
		return r
	}
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+tok)
	delete(r.Header, headerDPoP) // a proof copied from an incoming request is not ours to pass on
	return r
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
