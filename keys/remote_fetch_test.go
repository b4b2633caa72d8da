package keys_test

// A Remote whose fetches fail or stall: the last good keys serve while the
// endpoint fails, ErrUnavailable when none were ever fetched, the response
// size bound, the fetch timeout, and one fetch shared by concurrent lookups.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

func TestRemoteStaleOnError(t *testing.T) {
	a, b := newKeyCached(t, keys.ES256, "a"), newKeyCached(t, keys.EdDSA, "b")
	for _, mode := range []string{serve500, serveGarbage, serveEmpty, serveHang} {
		t.Run(mode, func(t *testing.T) {
			srv := newJWKSServer(t, a)
			clk := newClock()
			const interval = 10 * time.Second
			r := newRemote(t, srv.URL, clk,
				keys.WithRefetchInterval(interval), keys.WithFetchTimeout(200*time.Millisecond))
			wantKey(t, r, "a", a)

			// The keys expire while the endpoint fails: the last good keys serve.
			srv.set(mode)
			clk.Advance(keys.DefaultCacheAge)
			wantKey(t, r, "a", a)
			wantFetches(t, r, srv, 2)
			// Within the refetch interval the endpoint is left alone.
			for range 10 {
				wantKey(t, r, "a", a)
			}
			wantNotFound(t, r, "b")
			wantFetches(t, r, srv, 2)
			// It is tried again once per interval, and still the keys serve.
			clk.Advance(interval)
			wantKey(t, r, "a", a)
			wantFetches(t, r, srv, 3)

			// The endpoint recovers with a rotated set: picked up at the next try.
			srv.setKeys(t, b)
			srv.set(serveOK)
			clk.Advance(interval)
			wantNotFound(t, r, "a")
			wantKey(t, r, "b", b)
			wantFetches(t, r, srv, 4)
		})
	}
}

func TestRemoteUnavailable(t *testing.T) {
	a := newKeyCached(t, keys.ES256, "a")
	for _, mode := range []string{serve500, serveGarbage, serveEmpty, "closed"} {
		t.Run(mode, func(t *testing.T) {
			srv := newJWKSServer(t, a)
			url := srv.URL
			if mode == "closed" {
				srv.Close()
			} else {
				srv.set(mode)
			}
			clk := newClock()
			const interval = 10 * time.Second
			r := newRemote(t, url, clk, keys.WithRefetchInterval(interval))
			for _, kid := range []string{"a", "", "a"} {
				_, err := r.Key(context.Background(), kid)
				if !errors.Is(err, keys.ErrUnavailable) || errors.Is(err, keys.ErrKeyNotFound) {
					t.Fatalf("Key(%q) = %v, want ErrUnavailable", kid, err)
				}
			}
			wantFetches(t, r, nil, 1)
			if mode == "closed" {
				return
			}
			// Back up: the next try after the interval succeeds.
			srv.set(serveOK)
			clk.Advance(interval)
			wantKey(t, r, "a", a)
			wantFetches(t, r, srv, 2)
		})
	}
}

func TestRemoteMaxResponseBytes(t *testing.T) {
	a := newKeyCached(t, keys.ES256, "a")
	srv := newJWKSServer(t, a)
	size := int64(len(jwksOf(t, a)))

	r := newRemote(t, srv.URL, newClock(), keys.WithMaxResponseBytes(size-1))
	_, err := r.Key(context.Background(), "a")
	if !errors.Is(err, keys.ErrUnavailable) {
		t.Fatalf("Key with a response over the limit = %v, want ErrUnavailable", err)
	}
	wantErr(t, err, fmt.Sprintf("more than %d bytes", size-1))

	r = newRemote(t, srv.URL, newClock(), keys.WithMaxResponseBytes(size))
	wantKey(t, r, "a", a)

	// The default is 512 KiB: a larger body is refused.
	big := newJWKSServer(t)
	big.mu.Lock()
	big.body = []byte(`{"keys":[],"pad":"` + strings.Repeat("x", keys.DefaultMaxResponseBytes) + `"}`)
	big.mu.Unlock()
	r = newRemote(t, big.URL, newClock())
	if _, err := r.Key(context.Background(), "a"); !errors.Is(err, keys.ErrUnavailable) {
		t.Fatalf("Key with a response over the default limit = %v, want ErrUnavailable", err)
	}
}

func TestRemoteFetchTimeout(t *testing.T) {
	// The fetch timeout applies even with a client that has none of its
	// own, or a longer one.
	for name, timeout := range map[string]time.Duration{"client without a timeout": 0, "client with a longer timeout": time.Hour} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, client := newMemJWKS(t, newKeyCached(t, keys.ES256, "a"))
				srv.set(serveHang)
				client.Timeout = timeout
				r := newRemote(t, memJWKSURL, newClock(), keys.WithHTTPClient(client), keys.WithFetchTimeout(100*time.Millisecond))
				start := time.Now()
				_, err := r.Key(context.Background(), "a")
				if !errors.Is(err, keys.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Key = %v, want ErrUnavailable and DeadlineExceeded", err)
				}
				if elapsed := time.Since(start); elapsed != 100*time.Millisecond {
					t.Errorf("a hanging server held the lookup for %v; the fetch timeout is 100ms", elapsed)
				}
			})
		})
	}
	t.Run("default client", func(t *testing.T) {
		srv := newJWKSServer(t, newKeyCached(t, keys.ES256, "a"))
		srv.set(serveHang)
		r := newRemote(t, srv.URL, newClock(), keys.WithFetchTimeout(100*time.Millisecond))
		// The test's own deadline only keeps a broken timeout from hanging.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if _, err := r.Key(ctx, "a"); !errors.Is(err, keys.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Key = %v, want ErrUnavailable and DeadlineExceeded", err)
		}
		if ctx.Err() != nil {
			t.Error("a hanging server held the lookup past 3s; the fetch timeout is 100ms")
		}
	})
}

func TestRemoteConcurrentLookupsShareOneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newKeyCached(t, keys.ES256, "a")
		srv, client := newMemJWKS(t, a)
		srv.set(serveBlock)
		r := newRemote(t, memJWKSURL, newClock(), keys.WithHTTPClient(client))

		const n = 50
		var done sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			done.Go(func() {
				k, err := r.Key(context.Background(), "a")
				if err == nil && !k.SameKey(a) {
					err = fmt.Errorf("got %v", k)
				}
				errs <- err
			})
		}
		<-srv.entered // the one fetch is at the server
		// A lookup that gives up while waiting returns at once; the fetch goes on.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := r.Key(ctx, "a"); !errors.Is(err, keys.ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("Key with a cancelled context = %v, want ErrUnavailable and context.Canceled", err)
		}
		synctest.Wait() // every lookup waits for the one fetch
		srv.unblock()
		done.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("Key: %v", err)
			}
		}
		wantFetches(t, r, srv, 1)
	})
}
