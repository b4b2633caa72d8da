package relay_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/relay"
)

// flaky is a downstream service that answers status (or hangs) and
// records what it received.
type flaky struct {
	*httptest.Server
	hits   atomic.Int64
	status atomic.Int64 // 0: hang until the client gives up
	// failFirst answers status to the first failFirst requests, 200 after.
	failFirst atomic.Int64
	mu        sync.Mutex
	bodies    []string
}

func newFlaky(t testing.TB, status int) *flaky {
	t.Helper()
	f := &flaky{}
	f.status.Store(int64(status))
	f.failFirst.Store(-1)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(body))
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer t1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		status := int(f.status.Load())
		if ff := f.failFirst.Load(); ff >= 0 && n > ff {
			status = http.StatusOK
		}
		if status == 0 {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, "answer")
	}))
	t.Cleanup(f.Close)
	return f
}

func fastRetries() []relay.Option {
	return []relay.Option{relay.WithRetries(2), relay.WithBackoff(time.Millisecond, 4*time.Millisecond, 0.5)}
}

// TestRetriesOnlyIdempotentReplayableCalls: GET, HEAD, OPTIONS, PUT and
// DELETE are retried after a 5xx; POST and PATCH never; a body without
// GetBody never.
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
		{"POST is sent once", http.MethodPost, func() io.Reader { return strings.NewReader("doc") }, http.StatusServiceUnavailable, 1},
		{"PATCH is sent once", http.MethodPatch, func() io.Reader { return strings.NewReader("doc") }, http.StatusServiceUnavailable, 1},
		{"PUT with a streamed body is sent once", http.MethodPut, func() io.Reader { return io.MultiReader(strings.NewReader("doc")) }, http.StatusServiceUnavailable, 1},
		{"GET 501 is not retried", http.MethodGet, nil, http.StatusNotImplemented, 1},
		{"GET 404 is not retried", http.MethodGet, nil, http.StatusNotFound, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlaky(t, tt.status)
			client := relayClient(t, &staticSource{tokens: []string{"t1"}}, fastRetries()...)
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			req, _ := http.NewRequest(tt.method, f.URL, body)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || f.hits.Load() != tt.wantHits {
				t.Fatalf("status %d after %d requests; want %d after %d", resp.StatusCode, f.hits.Load(), tt.status, tt.wantHits)
			}
			if tt.method != http.MethodHead && string(got) != "answer" {
				t.Fatalf("the last answer's body %q was not passed on", got)
			}
			if tt.body != nil {
				for i, b := range f.bodies {
					if b != "doc" {
						t.Fatalf("attempt %d sent body %q", i+1, b)
					}
				}
			}
		})
	}
	t.Run("a retry that succeeds", func(t *testing.T) {
		f := newFlaky(t, http.StatusServiceUnavailable)
		f.failFirst.Store(1)
		status, body, err := get(t, t.Context(), relayClient(t, &staticSource{tokens: []string{"t1"}}, fastRetries()...), f.URL)
		if err != nil || status != http.StatusOK || body != "answer" || f.hits.Load() != 2 {
			t.Fatalf("%d %q %v after %d requests", status, body, err, f.hits.Load())
		}
	})
	t.Run("retries off", func(t *testing.T) {
		f := newFlaky(t, http.StatusServiceUnavailable)
		get(t, t.Context(), relayClient(t, &staticSource{tokens: []string{"t1"}}, relay.WithRetries(0)), f.URL)
		if f.hits.Load() != 1 {
			t.Fatalf("%d requests", f.hits.Load())
		}
	})
}

// TestTimeout: a downstream that never answers fails each attempt after
// the timeout, and the call with ErrTimeout; it never hangs.
func TestTimeout(t *testing.T) {
	f := newFlaky(t, 0)
	client := relayClient(t, &staticSource{tokens: []string{"t1"}}, append(fastRetries(), relay.WithTimeout(50*time.Millisecond))...)
	start := time.Now()
	_, _, err := get(t, t.Context(), client, f.URL)
	if !errors.Is(err, relay.ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	if f.hits.Load() != 3 {
		t.Fatalf("%d attempts, want 3 (GET is retried after a timeout)", f.hits.Load())
	}
}

// TestTimeoutCoversHeadersNotBody: the body of an answer may take longer
// than the timeout to arrive; the attempt's context stays alive until the
// body is closed.
func TestTimeoutCoversHeadersNotBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "first ")
		w.(http.Flusher).Flush()
		time.Sleep(150 * time.Millisecond)
		io.WriteString(w, "second")
	}))
	defer srv.Close()
	client := relayClient(t, &staticSource{tokens: []string{"t1"}}, relay.WithTimeout(50*time.Millisecond))
	status, body, err := get(t, t.Context(), client, srv.URL)
	if err != nil || status != http.StatusOK || body != "first second" {
		t.Fatalf("%d %q %v", status, body, err)
	}
}

// TestBreaker: after N consecutive failures of a host its calls fail fast
// with ErrCircuitOpen without reaching it; other hosts are not affected;
// after the delay a trial call closes it again.
func TestBreaker(t *testing.T) {
	const failures, delay = 3, 200 * time.Millisecond
	b := newFlaky(t, http.StatusInternalServerError)
	other := newFlaky(t, http.StatusOK)
	client := relayClient(t, &staticSource{tokens: []string{"t1"}}, relay.WithRetries(0), relay.WithBreaker(failures, delay))

	for i := range failures {
		status, _, err := get(t, t.Context(), client, b.URL)
		if err != nil || status != http.StatusInternalServerError {
			t.Fatalf("call %d: %d %v", i+1, status, err)
		}
	}
	for range 10 {
		start := time.Now()
		_, _, err := get(t, t.Context(), client, b.URL)
		if !errors.Is(err, relay.ErrCircuitOpen) {
			t.Fatalf("got %v, want ErrCircuitOpen", err)
		}
		if d := time.Since(start); d > 50*time.Millisecond {
			t.Fatalf("an open circuit took %s to answer", d)
		}
	}
	if b.hits.Load() != failures {
		t.Fatalf("B was reached %d times, want %d: an open circuit sends nothing", b.hits.Load(), failures)
	}
	if status, _, err := get(t, t.Context(), client, other.URL); err != nil || status != http.StatusOK {
		t.Fatalf("another host: %d %v", status, err)
	}

	// B recovers; after the delay one trial call goes through and closes it.
	b.status.Store(http.StatusOK)
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _, err := get(t, t.Context(), client, b.URL)
		if err == nil && status == http.StatusOK {
			break
		}
		if !errors.Is(err, relay.ErrCircuitOpen) || time.Now().After(deadline) {
			t.Fatalf("recovery: %d %v", status, err)
		}
		time.Sleep(delay / 4)
	}
	for range 5 {
		if status, _, err := get(t, t.Context(), client, b.URL); err != nil || status != http.StatusOK {
			t.Fatalf("after recovery: %d %v", status, err)
		}
	}

	// A hanging host opens the circuit too (timeouts are failures).
	hang := newFlaky(t, 0)
	client = relayClient(t, &staticSource{tokens: []string{"t1"}}, relay.WithRetries(0), relay.WithBreaker(2, time.Minute), relay.WithTimeout(20*time.Millisecond))
	for range 2 {
		if _, _, err := get(t, t.Context(), client, hang.URL); !errors.Is(err, relay.ErrTimeout) {
			t.Fatalf("got %v, want ErrTimeout", err)
		}
	}
	if _, _, err := get(t, t.Context(), client, hang.URL); !errors.Is(err, relay.ErrCircuitOpen) {
		t.Fatalf("got %v, want ErrCircuitOpen after two timeouts", err)
	}
}

// TestBreakerCountsEveryMethod: failures of calls that are not retried
// count too; a call its caller canceled does not.
func TestBreakerCountsEveryMethod(t *testing.T) {
	b := newFlaky(t, http.StatusBadGateway)
	client := relayClient(t, &staticSource{tokens: []string{"t1"}}, relay.WithBreaker(2, time.Minute))
	for range 2 {
		resp, err := client.Post(b.URL, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if _, err := client.Post(b.URL, "text/plain", strings.NewReader("x")); !errors.Is(err, relay.ErrCircuitOpen) {
		t.Fatalf("got %v, want ErrCircuitOpen", err)
	}
}

func TestBreakerIgnoresCanceledCalls(t *testing.T) {
	hang := newFlaky(t, 0)
	client := relayClient(t, &staticSource{tokens: []string{"t1"}}, relay.WithBreaker(1, time.Minute))
	for i := range 3 {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		_, _, err := get(t, ctx, client, hang.URL)
		cancel()
		if err == nil || errors.Is(err, relay.ErrCircuitOpen) {
			t.Fatalf("call %d: got %v, want the caller's deadline", i+1, err)
		}
	}
	if hang.hits.Load() != 3 {
		t.Fatalf("%d calls reached the host, want 3", hang.hits.Load())
	}
}
