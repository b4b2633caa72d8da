package relay_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehousehq/gatehouse/relay"
)

// The resilience layer's tests wait on time (timeouts, backoff, the
// breaker's delay), so they run in synctest bubbles, whose clock moves
// only when every goroutine waits: no sleeps, exact durations. A bubble
// cannot wait on real network I/O, so the downstream service is in
// memory: a RoundTripper.

// fakeHost is a downstream service in memory that answers status (or
// hangs) and records what it received.
type fakeHost struct {
	hits   atomic.Int64
	status atomic.Int64 // 0: hang until the request's context ends
	// failFirst answers status to the first failFirst requests, 200 after.
	failFirst atomic.Int64
	// token, when set, is the only bearer token answered; others get 401.
	token  string
	mu     sync.Mutex
	bodies []string
}

var _ http.RoundTripper = (*fakeHost)(nil)

func newFakeHost(status int) *fakeHost {
	f := &fakeHost{}
	f.status.Store(int64(status))
	f.failFirst.Store(-1)
	return f
}

func (f *fakeHost) RoundTrip(r *http.Request) (*http.Response, error) {
	n := f.hits.Add(1)
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, string(body))
	f.mu.Unlock()
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		return answer(r, http.StatusUnauthorized, "who are you"), nil
	}
	status := int(f.status.Load())
	if ff := f.failFirst.Load(); ff >= 0 && n > ff {
		status = http.StatusOK
	}
	if status == 0 {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	return answer(r, status, "answer"), nil
}

// answer is a response to r with body.
func answer(r *http.Request, status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}
}

func resilientClient(t testing.TB, base http.RoundTripper, opts ...relay.Option) *http.Client {
	t.Helper()
	r, err := relay.NewResilient(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: r}
}

// noJitter: backoff 100ms, 200ms (the defaults without jitter), so that a
// bubble's durations are exact.
var noJitter = relay.WithBackoff(100*time.Millisecond, 2*time.Second, 0)

// TestRetriesOnlyIdempotentReplayableCalls: GET, HEAD, OPTIONS, PUT and
// DELETE are retried after a 5xx, the body replayed from GetBody; POST and
// PATCH never; a body without GetBody never.
func TestRetriesOnlyIdempotentReplayableCalls(t *testing.T) {
	for _, tt := range []struct {
		name     string
		method   string
		body     func() io.Reader
		status   int
		wantHits int64
	}{
		{"GET 503", http.MethodGet, nil, http.StatusServiceUnavailable, 3},
		{"HEAD 502", http.MethodHead, nil, http.StatusBadGateway, 3},
		{"OPTIONS 504", http.MethodOptions, nil, http.StatusGatewayTimeout, 3},
		{"DELETE 500", http.MethodDelete, nil, http.StatusInternalServerError, 3},
		{"PUT with a replayable body", http.MethodPut, func() io.Reader { return bytes.NewReader([]byte("doc")) }, http.StatusServiceUnavailable, 3},
		{"GET 429 is not retried", http.MethodGet, nil, http.StatusTooManyRequests, 1},
		{"GET 401 is not retried", http.MethodGet, nil, http.StatusUnauthorized, 1},
		{"POST is sent once", http.MethodPost, func() io.Reader { return strings.NewReader("doc") }, http.StatusServiceUnavailable, 1},
		{"PATCH is sent once", http.MethodPatch, func() io.Reader { return strings.NewReader("doc") }, http.StatusServiceUnavailable, 1},
		{"PUT with a streamed body is sent once", http.MethodPut, func() io.Reader { return io.MultiReader(strings.NewReader("doc")) }, http.StatusServiceUnavailable, 1},
		{"GET 501 is not retried", http.MethodGet, nil, http.StatusNotImplemented, 1},
		{"GET 404 is not retried", http.MethodGet, nil, http.StatusNotFound, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeHost(tt.status)
				client := resilientClient(t, f, noJitter)
				var body io.Reader
				if tt.body != nil {
					body = tt.body()
				}
				req, _ := http.NewRequest(tt.method, "http://b.test/", body)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status || f.hits.Load() != tt.wantHits {
					t.Fatalf("status %d after %d requests; want %d after %d", resp.StatusCode, f.hits.Load(), tt.status, tt.wantHits)
				}
				if string(got) != "answer" {
					t.Fatalf("the last answer's body %q was not passed on", got)
				}
				// The backoff doubles: 100ms, then 200ms.
				if want := map[int64]time.Duration{1: 0, 3: 300 * time.Millisecond}[tt.wantHits]; time.Since(start) != want {
					t.Fatalf("took %s, want %s", time.Since(start), want)
				}
				if tt.body != nil {
					for i, b := range f.bodies {
						if b != "doc" {
							t.Fatalf("attempt %d sent body %q", i+1, b)
						}
					}
				}
			})
		})
	}
	t.Run("a retry that succeeds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakeHost(http.StatusServiceUnavailable)
			f.failFirst.Store(1)
			status, body, err := get(t, t.Context(), resilientClient(t, f), "http://b.test/")
			if err != nil || status != http.StatusOK || body != "answer" || f.hits.Load() != 2 {
				t.Fatalf("%d %q %v after %d requests", status, body, err, f.hits.Load())
			}
		})
	})
	t.Run("retries off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakeHost(http.StatusServiceUnavailable)
			get(t, t.Context(), resilientClient(t, f, relay.WithRetries(0)), "http://b.test/")
			if f.hits.Load() != 1 {
				t.Fatalf("%d requests", f.hits.Load())
			}
		})
	})
}

// TestTimeout: a downstream that never answers fails each attempt after
// the timeout, and the call with ErrTimeout; it never hangs.
func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeHost(0)
		client := resilientClient(t, f, noJitter, relay.WithTimeout(50*time.Millisecond))
		start := time.Now()
		_, _, err := get(t, t.Context(), client, "http://b.test/")
		if !errors.Is(err, relay.ErrTimeout) {
			t.Fatalf("got %v, want ErrTimeout", err)
		}
		// Three attempts of 50ms, 100ms and 200ms apart.
		if d := time.Since(start); d != 450*time.Millisecond {
			t.Fatalf("took %s, want 450ms", d)
		}
		if f.hits.Load() != 3 {
			t.Fatalf("%d attempts, want 3 (GET is retried after a timeout)", f.hits.Load())
		}
	})
}

// slowBody sends "first ", then "second" after a pause, and fails when
// its request's context ends first, as a real connection's body does.
type slowBody struct {
	ctx   context.Context
	pause time.Duration
	part  int
}

func (b *slowBody) Read(p []byte) (int, error) {
	b.part++
	switch b.part {
	case 1:
		return copy(p, "first "), nil
	case 2:
		select {
		case <-time.After(b.pause):
		case <-b.ctx.Done():
			return 0, b.ctx.Err()
		}
		return copy(p, "second"), nil
	}
	return 0, io.EOF
}

func (b *slowBody) Close() error { return nil }

// TestTimeoutCoversHeadersNotBody: the body of an answer may take longer
// than the timeout to arrive; the attempt's context stays alive until the
// body is closed.
func TestTimeoutCoversHeadersNotBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp := answer(r, http.StatusOK, "")
			resp.ContentLength = -1
			resp.Body = &slowBody{ctx: r.Context(), pause: 150 * time.Millisecond}
			return resp, nil
		})
		client := resilientClient(t, slow, relay.WithTimeout(50*time.Millisecond))
		status, body, err := get(t, t.Context(), client, "http://b.test/")
		if err != nil || status != http.StatusOK || body != "first second" {
			t.Fatalf("%d %q %v", status, body, err)
		}
	})
}

// TestBreaker: after N consecutive failures of a host its calls fail fast
// with ErrCircuitOpen without reaching it; other hosts are not affected;
// once the delay has passed, one trial call closes it again.
func TestBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const failures, delay = 3, 200 * time.Millisecond
		b := newFakeHost(http.StatusInternalServerError)
		other := newFakeHost(http.StatusOK)
		hosts := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == "b.test" {
				return b.RoundTrip(r)
			}
			return other.RoundTrip(r)
		})
		client := resilientClient(t, hosts, relay.WithRetries(0), relay.WithBreaker(failures, delay))

		for i := range failures {
			status, _, err := get(t, t.Context(), client, "http://b.test/")
			if err != nil || status != http.StatusInternalServerError {
				t.Fatalf("call %d: %d %v", i+1, status, err)
			}
		}
		opened := time.Now()
		for range 10 {
			if _, _, err := get(t, t.Context(), client, "http://b.test/"); !errors.Is(err, relay.ErrCircuitOpen) {
				t.Fatalf("got %v, want ErrCircuitOpen", err)
			}
		}
		if time.Since(opened) != 0 {
			t.Fatalf("an open circuit took %s to answer", time.Since(opened))
		}
		if b.hits.Load() != failures {
			t.Fatalf("B was reached %d times, want %d: an open circuit sends nothing", b.hits.Load(), failures)
		}
		if status, _, err := get(t, t.Context(), client, "http://other.test/"); err != nil || status != http.StatusOK {
			t.Fatalf("another host: %d %v", status, err)
		}

		// B recovers; it stays open until the delay has passed, then one
		// trial call goes through (half-open) and closes it.
		b.status.Store(http.StatusOK)
		time.Sleep(delay - time.Millisecond)
		if _, _, err := get(t, t.Context(), client, "http://b.test/"); !errors.Is(err, relay.ErrCircuitOpen) {
			t.Fatalf("before the delay: got %v, want ErrCircuitOpen", err)
		}
		time.Sleep(time.Millisecond)
		for range 5 {
			if status, _, err := get(t, t.Context(), client, "http://b.test/"); err != nil || status != http.StatusOK {
				t.Fatalf("after recovery: %d %v", status, err)
			}
		}
		if b.hits.Load() != failures+5 {
			t.Fatalf("B was reached %d times, want %d", b.hits.Load(), failures+5)
		}

		// A trial call that fails opens it again, for another delay.
		b.status.Store(http.StatusInternalServerError)
		for range failures {
			get(t, t.Context(), client, "http://b.test/")
		}
		time.Sleep(delay)
		if status, _, err := get(t, t.Context(), client, "http://b.test/"); err != nil || status != http.StatusInternalServerError {
			t.Fatalf("trial call: %d %v", status, err)
		}
		if _, _, err := get(t, t.Context(), client, "http://b.test/"); !errors.Is(err, relay.ErrCircuitOpen) {
			t.Fatalf("after a failed trial: got %v, want ErrCircuitOpen", err)
		}
	})
}

// TestBreakerOpensOnTimeouts: a hanging host opens the circuit too
// (timeouts are failures).
func TestBreakerOpensOnTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := newFakeHost(0)
		client := resilientClient(t, hang, relay.WithRetries(0), relay.WithBreaker(2, time.Minute), relay.WithTimeout(20*time.Millisecond))
		for range 2 {
			if _, _, err := get(t, t.Context(), client, "http://b.test/"); !errors.Is(err, relay.ErrTimeout) {
				t.Fatalf("got %v, want ErrTimeout", err)
			}
		}
		if _, _, err := get(t, t.Context(), client, "http://b.test/"); !errors.Is(err, relay.ErrCircuitOpen) {
			t.Fatalf("got %v, want ErrCircuitOpen after two timeouts", err)
		}
	})
}

// TestBreakerCountsEveryMethod: failures of calls that are not retried
// count too.
func TestBreakerCountsEveryMethod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFakeHost(http.StatusBadGateway)
		client := resilientClient(t, b, relay.WithBreaker(2, time.Minute))
		for range 2 {
			resp, err := client.Post("http://b.test/", "text/plain", strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if _, err := client.Post("http://b.test/", "text/plain", strings.NewReader("x")); !errors.Is(err, relay.ErrCircuitOpen) {
			t.Fatalf("got %v, want ErrCircuitOpen", err)
		}
	})
}

// TestBreakerIgnoresCanceledCalls: a call its caller canceled, or that ran
// out of the caller's deadline, is no failure of the host.
func TestBreakerIgnoresCanceledCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := newFakeHost(0)
		client := resilientClient(t, hang, relay.WithBreaker(1, time.Minute))
		for i := range 3 {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			_, _, err := get(t, ctx, client, "http://b.test/")
			cancel()
			if err == nil || errors.Is(err, relay.ErrCircuitOpen) {
				t.Fatalf("call %d: got %v, want the caller's deadline", i+1, err)
			}
		}
		if hang.hits.Load() != 3 {
			t.Fatalf("%d calls reached the host, want 3", hang.hits.Load())
		}
	})
}

// TestResilientOnItsOwn: without a token layer the request goes as the
// caller made it, headers included, and its body is closed on every path.
func TestResilientOnItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []string
		echo := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.Header.Values("Authorization")
			return answer(r, http.StatusOK, "answer"), nil
		})
		client := resilientClient(t, echo)
		req, _ := http.NewRequest(http.MethodGet, "http://b.test/", nil)
		req.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if len(got) != 1 || got[0] != "Basic dXNlcjpwYXNz" {
			t.Fatalf("the host saw Authorization %q", got)
		}

		open := resilientClient(t, newFakeHost(http.StatusInternalServerError), relay.WithRetries(0), relay.WithBreaker(1, time.Minute))
		get(t, t.Context(), open, "http://b.test/")
		body := &trackedBody{Reader: strings.NewReader("payload")}
		req, _ = http.NewRequest(http.MethodPost, "http://b.test/", body)
		if _, err := open.Do(req); !errors.Is(err, relay.ErrCircuitOpen) {
			t.Fatalf("got %v, want ErrCircuitOpen", err)
		}
		if !body.closed.Load() {
			t.Fatal("the body of a request that was not sent was not closed")
		}
	})
}

func TestNewResilientRefusals(t *testing.T) {
	for name, opt := range badOptions() {
		t.Run(name, func(t *testing.T) {
			if _, err := relay.NewResilient(nil, opt); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// badOptions are options that NewResilient and NewTransport refuse.
func badOptions() map[string]relay.Option {
	return map[string]relay.Option{
		"zero timeout":          relay.WithTimeout(0),
		"negative retries":      relay.WithRetries(-1),
		"retries above 10":      relay.WithRetries(11),
		"backoff max < first":   relay.WithBackoff(time.Second, time.Millisecond, 0.5),
		"jitter above 1":        relay.WithBackoff(time.Millisecond, time.Second, 2),
		"breaker threshold 0":   relay.WithBreaker(0, time.Second),
		"breaker without delay": relay.WithBreaker(3, 0),
	}
}
