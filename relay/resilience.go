package relay

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/policy"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/failsafe-go/failsafe-go/timeout"
)

// The policies of a Resilient come from failsafe-go, composed per call as
// Retry(CircuitBreaker(Timeout(attempt))): each attempt has its own time
// limit and asks the host's breaker, and the retry policy wraps them all.

type response = *http.Response

// hostPolicies are the executors of one downstream host, sharing its
// breaker.
type hostPolicies struct {
	breaker  circuitbreaker.CircuitBreaker[response]
	once     failsafe.Executor[response] // breaker and timeout
	retrying failsafe.Executor[response] // retries around them
}

// newRetryPolicy returns the retry policy of cfg, shared by every host;
// nil when retries are off.
func newRetryPolicy(cfg config) retrypolicy.RetryPolicy[response] {
	if cfg.retries == 0 {
		return nil
	}
	return retrypolicy.NewBuilder[response]().
		HandleIf(shouldRetry).
		AbortOnErrors(circuitbreaker.ErrOpen, context.Canceled, context.DeadlineExceeded).
		WithMaxRetries(cfg.retries).
		WithBackoff(cfg.backoff, cfg.maxBackoff).
		WithJitterFactor(cfg.jitter).
		ReturnLastFailure().
		OnRetryScheduled(func(e failsafe.ExecutionScheduledEvent[response]) {
			// The answer that is retried is dropped: free its connection.
			if resp := e.LastResult(); resp != nil {
				drainClose(resp.Body)
			}
		}).
		Build()
}

// newHostPolicies returns the executors of a host: a breaker of its own,
// the shared timeout and retry policies (retry may be nil).
func newHostPolicies(cfg config, retry retrypolicy.RetryPolicy[response], to timeout.Timeout[response]) *hostPolicies {
	cb := circuitbreaker.NewBuilder[response]().
		HandleIf(hostFailed).
		WithFailureThreshold(cfg.breakerFailures).
		WithDelay(cfg.breakerDelay).
		// Half-open: one trial call at a time, which closes the circuit
		// on success and opens it again on failure (failsafe-go's default
		// would let failureThreshold trials through, and reopen only after
		// as many failures).
		WithSuccessThreshold(1).
		Build()
	h := &hostPolicies{breaker: cb, once: failsafe.With[response](cb, to)}
	h.retrying = h.once
	if retry != nil {
		h.retrying = failsafe.With[response](retry, cb, to)
	}
	return h
}

// shouldRetry: transport errors and timeouts, and 5xx except 501 (the
// server will never do it). Not 429: a service that limits us asked us to
// wait (Retry-After), which a retry within milliseconds would ignore; the
// 429 goes back to the caller.
func shouldRetry(resp response, err error) bool {
	if err != nil {
		return !errors.Is(err, circuitbreaker.ErrOpen)
	}
	return resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented
}

// hostFailed is what counts against a host's breaker: transport errors,
// attempt timeouts and 5xx answers; not a call whose caller canceled it or
// ran out of its own deadline.
func hostFailed(resp response, err error) bool {
	if err != nil {
		return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	}
	return resp.StatusCode >= 500
}

// idempotent reports whether a method may be sent again (RFC 9110 §9.2.2).
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// hasBody reports whether req sends a body.
func hasBody(req *http.Request) bool { return req.Body != nil && req.Body != http.NoBody }

// replayable reports whether req's body can be sent again.
func replayable(req *http.Request) bool { return !hasBody(req) || req.GetBody != nil }

// deferredCancel keeps an attempt's context alive while the caller reads
// the body: the failsafe timeout would cancel it as soon as the attempt
// returns.
func deferredCancel(exec failsafe.Execution[response], resp response) {
	if ei, ok := exec.(policy.ExecutionInternal[response]); ok {
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: ei.DeferCancel()}
	}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	defer b.cancel()
	return b.ReadCloser.Close()
}

// drainClose reads a little of a body that is dropped, so that its
// connection can be reused, and closes it.
func drainClose(body io.ReadCloser) {
	if body != nil {
		io.CopyN(io.Discard, body, 64<<10)
		body.Close()
	}
}
