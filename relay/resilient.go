package relay

import (
	"errors"
	"net/http"
	"sync"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// Resilient is an http.RoundTripper that protects the calls of its base
// transport: a timeout on each attempt until the response headers arrive,
// retries of idempotent calls whose body can be sent again (replayed with
// Request.GetBody), and a circuit breaker per downstream host. It sets no
// credentials: use it on its own for calls that need none, or under a
// [Transport], which adds the token.
//
//	client := &http.Client{Transport: r, Timeout: 30 * time.Second}
//
// Each attempt sends a clone of the request, whose body is closed on every
// path, as RoundTripper requires. A 4xx answer (401 included) is neither
// retried nor a failure of the host: it goes back to the caller.
//
// A Resilient is configured once by [NewResilient] and safe for concurrent
// use. It keeps one breaker per host it has called: share one Resilient
// among the clients of a downstream service, so that they share its
// breaker.
type Resilient struct {
	base    http.RoundTripper
	cfg     config
	retry   retrypolicy.RetryPolicy[response] // nil without retries
	timeout timeout.Timeout[response]

	mu    sync.Mutex
	hosts map[string]*hostPolicies
}

var _ http.RoundTripper = (*Resilient)(nil)

// NewResilient returns a transport that sends through base (nil means
// http.DefaultTransport; pass a transport with mTLS...) with the
// resilience that opts tune (defaults: DefaultTimeout, DefaultRetries,
// DefaultBackoff, DefaultBreakerFailures...). With a tracer provider that
// exports ([WithTracerProvider]), each attempt is an otelhttp client span.
func NewResilient(base http.RoundTripper, opts ...Option) (*Resilient, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.tel.init(); err != nil {
		return nil, err
	}
	base = cfg.tel.wrap(base) // tracing.go: client spans when tracing
	// dpop.go: a DPoP proof per attempt, for calls with a DPoP-bound token.
	base = &proofLayer{next: base, nonces: newNonceCache()}
	r := &Resilient{base: base, cfg: cfg, timeout: timeout.New[response](cfg.timeout), hosts: map[string]*hostPolicies{}}
	r.retry = newRetryPolicy(cfg)
	return r, nil
}

// RoundTrip sends req through the base transport under the policies of
// its host: the first attempt sends req's body, every retry a copy from
// GetBody.
func (r *Resilient) RoundTrip(req *http.Request) (*http.Response, error) {
	bodyUnread := hasBody(req)
	defer func() {
		if bodyUnread {
			req.Body.Close() // no attempt was made
		}
	}()
	if req.URL == nil {
		return nil, relayErr("request without URL")
	}
	host := req.URL.Host
	h := r.forHost(host)
	ex := h.once
	if idempotent(req.Method) && replayable(req) {
		ex = h.retrying
	}
	resp, err := ex.WithContext(req.Context()).GetWithExecution(func(exec failsafe.Execution[response]) (response, error) {
		a := req.Clone(exec.Context())
		switch {
		case bodyUnread:
			bodyUnread = false
		case hasBody(req):
			body, err := req.GetBody()
			if err != nil {
				return nil, relayErr("copy the request body: %w", err)
			}
			a.Body = body
		}
		resp, err := r.base.RoundTrip(a)
		if err != nil {
			return nil, err
		}
		deferredCancel(exec, resp)
		return resp, nil
	})
	switch {
	case err == nil:
		return resp, nil
	case errors.Is(err, circuitbreaker.ErrOpen):
		return nil, relayErr("%s %s: %w", req.Method, host, ErrCircuitOpen)
	case errors.Is(err, timeout.ErrExceeded):
		return nil, relayErr("%s %s: %w (%s)", req.Method, host, ErrTimeout, r.cfg.timeout)
	}
	return nil, relayErr("%s %s: %w", req.Method, host, err)
}

// forHost returns the executors of host, creating its breaker on first use.
func (r *Resilient) forHost(host string) *hostPolicies {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h, ok := r.hosts[host]; ok {
		return h
	}
	h := newHostPolicies(r.cfg, r.retry, r.timeout)
	r.hosts[host] = h
	return h
}
