package keys_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// handlerTransport serves requests with h in memory, for tests in a
// synctest bubble, which cannot wait on real network I/O. A request whose
// context ends before h answers fails, as on a real connection.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.h.ServeHTTP(rec, r)
	}()
	select {
	case <-done:
		return rec.Result(), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// lateIssuer is an issuer in memory that comes up late: until start is
// called, connections to it are refused.
type lateIssuer struct {
	up atomic.Bool
	h  http.Handler
}

func (l *lateIssuer) RoundTrip(r *http.Request) (*http.Response, error) {
	if !l.up.Load() {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return handlerTransport{l.h}.RoundTrip(r)
}

func (l *lateIssuer) start() { l.up.Store(true) }

func (l *lateIssuer) client() *http.Client { return &http.Client{Transport: l} }

// syncBuffer is a log destination that tests read while goroutines write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitReady waits until r holds keys, or fails t after 10 s (of the
// bubble's clock, in a synctest bubble).
func waitReady(t *testing.T, r *keys.Remote) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !r.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("the source never became ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A JWKS URL that is down at start: lookups fail with ErrUnavailable, the
// log names the URL, and Prefetch picks the keys up once it answers.
func TestRemotePrefetchJWKSUpLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newKeyCached(t, keys.ES256, "a")
		body := jwksOf(t, a)
		issuer := &lateIssuer{h: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) })}
		var logs syncBuffer
		r, err := keys.NewRemote(memJWKSURL, keys.WithRefetchInterval(20*time.Millisecond), keys.WithHTTPClient(issuer.client()),
			keys.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r.Prefetch(ctx)
		if _, err := r.Key(ctx, "a"); !errors.Is(err, keys.ErrUnavailable) {
			t.Fatalf("Key before the JWKS answered: %v, want ErrUnavailable", err)
		}
		if r.Ready() {
			t.Fatal("Ready() before the JWKS answered")
		}
		time.Sleep(100 * time.Millisecond) // attempts at 0, 20 and 60 ms
		if !strings.Contains(logs.String(), "JWKS has never answered") || !strings.Contains(logs.String(), memJWKSURL) {
			t.Errorf("the log does not say that the JWKS at its URL never answered:\n%s", logs.String())
		}
		issuer.start()
		time.Sleep(40 * time.Millisecond) // the attempt at 140 ms
		synctest.Wait()
		if !r.Ready() {
			t.Fatal("Prefetch did not pick the keys up at its next attempt")
		}
		wantKey(t, r, "a", a)
		if !strings.Contains(logs.String(), "JWKS answered for the first time") {
			t.Errorf("no recovery line in the log:\n%s", logs.String())
		}
	})
}

// The backoff of Prefetch doubles from the refetch interval: far fewer
// attempts than a busy loop while the JWKS answers 500, and they stop
// when its context ends.
func TestRemotePrefetchBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, client := newMemJWKS(t)
		srv.set(serve500)
		r, err := keys.NewRemote(memJWKSURL, keys.WithRefetchInterval(10*time.Millisecond), keys.WithHTTPClient(client))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.Prefetch(ctx)
		time.Sleep(350 * time.Millisecond) // attempts at 0, 10, 30, 70, 150, 310 ms
		if n := srv.hits.Load(); n != 6 {
			t.Errorf("%d attempts in 350 ms, want 6 (a doubling backoff from 10 ms)", n)
		}
		cancel()
		synctest.Wait() // Prefetch has returned
		time.Sleep(time.Hour)
		if n := srv.hits.Load(); n != 6 {
			t.Errorf("%d attempts after its context ended, want none", n-6)
		}
	})
}

// An issuer found by discovery that is down at start: NewRemoteFromIssuer
// returns the source with ErrUnavailable, and the source discovers its
// JWKS URL once the issuer answers.
func TestNewRemoteFromIssuerUpLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newKeyCached(t, keys.ES256, "a")
		body := jwksOf(t, a)
		const url = "http://issuer.test"
		issuer := &lateIssuer{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/.well-known/openid-configuration":
				w.Write([]byte(`{"issuer":"` + url + `","jwks_uri":"` + url + `/jwks"}`))
			case "/jwks":
				w.Write(body)
			default:
				http.NotFound(w, r)
			}
		})}
		var logs syncBuffer
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r, err := keys.NewRemoteFromIssuer(ctx, url, keys.WithRefetchInterval(20*time.Millisecond), keys.WithHTTPClient(issuer.client()),
			keys.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
		if !errors.Is(err, keys.ErrUnavailable) || r == nil {
			t.Fatalf("NewRemoteFromIssuer of a down issuer = %v, %v; want a source and ErrUnavailable", r, err)
		}
		if r.URL() != "" || r.Ready() {
			t.Fatalf("URL() = %q, Ready() = %v before discovery answered", r.URL(), r.Ready())
		}
		if !strings.Contains(logs.String(), url+"/.well-known/openid-configuration") {
			t.Errorf("the log does not name the discovery URL:\n%s", logs.String())
		}
		if _, err := r.Key(ctx, "a"); !errors.Is(err, keys.ErrUnavailable) {
			t.Fatalf("Key before discovery: %v, want ErrUnavailable", err)
		}
		r.Prefetch(ctx)
		issuer.start()
		waitReady(t, r)
		if r.URL() != url+"/jwks" {
			t.Errorf("URL() = %q after discovery", r.URL())
		}
		wantKey(t, r, "a", a)
	})
}

// Which failures of discovery leave a usable source (the issuer may come
// back) and which are errors at once (the issuer is wrong).
func TestNewRemoteFromIssuerUnavailableOrWrong(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		unavailable bool
	}{
		{"503", http.StatusServiceUnavailable, true},
		{"502", http.StatusBadGateway, true},
		{"429", http.StatusTooManyRequests, true},
		{"404", http.StatusNotFound, false},
		{"403", http.StatusForbidden, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tt.status) }))
			defer srv.Close()
			r, err := keys.NewRemoteFromIssuer(context.Background(), srv.URL)
			if err == nil {
				t.Fatal("NewRemoteFromIssuer succeeded")
			}
			if got := errors.Is(err, keys.ErrUnavailable); got != tt.unavailable {
				t.Errorf("errors.Is(%v, ErrUnavailable) = %v, want %v", err, got, tt.unavailable)
			}
			if (r != nil) != tt.unavailable {
				t.Errorf("source returned: %v, want one only when unavailable", r != nil)
			}
		})
	}
}
