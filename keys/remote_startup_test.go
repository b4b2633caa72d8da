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
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// lateServer reserves a free address and returns its URL and a function
// that starts h on it: until then, connections to it are refused (an
// issuer that comes up late).
func lateServer(t *testing.T, h http.Handler) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var once sync.Once
	return "http://" + addr, func() {
		once.Do(func() {
			srv := httptest.NewUnstartedServer(h)
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("the reserved address %s was taken meanwhile: %v", addr, err)
			}
			srv.Listener = l
			srv.Start()
			t.Cleanup(srv.Close)
		})
	}
}

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

// waitReady waits until r holds keys, or fails t after 10 s.
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
	a := newKeyCached(t, keys.ES256, "a")
	body := jwksOf(t, a)
	url, start := lateServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
	var logs syncBuffer
	r, err := keys.NewRemote(url+"/jwks", keys.WithRefetchInterval(20*time.Millisecond),
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
	time.Sleep(100 * time.Millisecond) // a few failed attempts
	if !strings.Contains(logs.String(), "JWKS has never answered") || !strings.Contains(logs.String(), url+"/jwks") {
		t.Errorf("the log does not say that the JWKS at its URL never answered:\n%s", logs.String())
	}
	start()
	waitReady(t, r)
	wantKey(t, r, "a", a)
	if !strings.Contains(logs.String(), "JWKS answered for the first time") {
		t.Errorf("no recovery line in the log:\n%s", logs.String())
	}
}

// The backoff of Prefetch: far fewer attempts than a busy loop while the
// JWKS answers 503.
func TestRemotePrefetchBacksOff(t *testing.T) {
	srv := newJWKSServer(t)
	srv.set(serve500)
	r, err := keys.NewRemote(srv.URL, keys.WithRefetchInterval(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.Prefetch(ctx)
	time.Sleep(350 * time.Millisecond) // attempts at 0, 10, 30, 70, 150, 310 ms
	cancel()
	if n := srv.hits.Load(); n < 3 || n > 8 {
		t.Errorf("%d attempts in 350 ms, want about 6 (a doubling backoff from 10 ms)", n)
	}
}

// An issuer found by discovery that is down at start: NewRemoteFromIssuer
// returns the source with ErrUnavailable, and the source discovers its
// JWKS URL once the issuer answers.
func TestNewRemoteFromIssuerUpLate(t *testing.T) {
	a := newKeyCached(t, keys.ES256, "a")
	body := jwksOf(t, a)
	var issuer string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			w.Write([]byte(`{"issuer":"` + issuer + `","jwks_uri":"` + issuer + `/jwks"}`))
		case "/jwks":
			w.Write(body)
		default:
			http.NotFound(w, r)
		}
	})
	var start func()
	issuer, start = lateServer(t, h)
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := keys.NewRemoteFromIssuer(ctx, issuer, keys.WithRefetchInterval(20*time.Millisecond),
		keys.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if !errors.Is(err, keys.ErrUnavailable) || r == nil {
		t.Fatalf("NewRemoteFromIssuer of a down issuer = %v, %v; want a source and ErrUnavailable", r, err)
	}
	if r.URL() != "" || r.Ready() {
		t.Fatalf("URL() = %q, Ready() = %v before discovery answered", r.URL(), r.Ready())
	}
	if !strings.Contains(logs.String(), issuer+"/.well-known/openid-configuration") {
		t.Errorf("the log does not name the discovery URL:\n%s", logs.String())
	}
	if _, err := r.Key(ctx, "a"); !errors.Is(err, keys.ErrUnavailable) {
		t.Fatalf("Key before discovery: %v, want ErrUnavailable", err)
	}
	r.Prefetch(ctx)
	start()
	waitReady(t, r)
	if r.URL() != issuer+"/jwks" {
		t.Errorf("URL() = %q after discovery", r.URL())
	}
	wantKey(t, r, "a", a)
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
