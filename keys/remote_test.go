package keys_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

func TestRemoteLazyAndCached(t *testing.T) {
	a := newKeyCached(t, keys.ES256, "a")
	srv := newJWKSServer(t, a)
	clk := newClock()
	r := newRemote(t, srv.URL, clk)
	if r.URL() != srv.URL {
		t.Errorf("URL() = %s", r.URL())
	}
	wantFetches(t, r, srv, 0) // nothing until the first lookup

	wantKey(t, r, "a", a)
	wantFetches(t, r, srv, 1)
	for range 100 {
		wantKey(t, r, "a", a)
	}
	wantKey(t, r, "", a) // the only key answers a token without kid
	clk.Advance(keys.DefaultCacheAge - time.Second)
	wantKey(t, r, "a", a)
	wantFetches(t, r, srv, 1)
	clk.Advance(time.Second)
	wantKey(t, r, "a", a)
	wantFetches(t, r, srv, 2)

	// Refresh fetches now, whatever the interval.
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantFetches(t, r, srv, 3)
}

// A token without kid against several keys selects none.
func TestRemoteNoKidSeveralKeys(t *testing.T) {
	srv := newJWKSServer(t, newKeyCached(t, keys.ES256, "a"), newKeyCached(t, keys.EdDSA, "b"))
	r := newRemote(t, srv.URL, newClock())
	wantNotFound(t, r, "")
}

func TestRemoteCacheControl(t *testing.T) {
	a := newKeyCached(t, keys.ES256, "a")
	const (
		minAge = time.Minute
		defAge = 5 * time.Minute
		maxAge = 10 * time.Minute
	)
	tests := []struct {
		header string
		age    time.Duration
	}{
		{"", defAge},
		{"max-age=120", 2 * time.Minute},
		{"public, max-age=180, must-revalidate", 3 * time.Minute},
		{`max-age="240"`, 4 * time.Minute},
		{"Max-Age=150", 150 * time.Second},
		{"max-age=5", minAge},     // clamped up
		{"max-age=0", minAge},     // clamped up
		{"max-age=86400", maxAge}, // clamped down
		{"max-age=99999999999999999", maxAge},
		{"max-age=-5", defAge},
		{"max-age=soon", defAge},
		{"no-store", minAge},
		{"no-cache, max-age=300", minAge},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			srv := newJWKSServer(t, a)
			srv.setCacheControl(tt.header)
			clk := newClock()
			r := newRemote(t, srv.URL, clk,
				keys.WithCacheAge(minAge, defAge, maxAge), keys.WithRefetchInterval(time.Second))
			wantKey(t, r, "a", a)
			clk.Advance(tt.age - time.Second)
			wantKey(t, r, "a", a)
			wantFetches(t, r, srv, 1)
			clk.Advance(time.Second)
			wantKey(t, r, "a", a)
			wantFetches(t, r, srv, 2)
		})
	}
}

func randomKid() string { return rand.Text() }

func TestRemoteUnknownKidRateLimited(t *testing.T) {
	a := newKeyCached(t, keys.ES256, "a")
	srv := newJWKSServer(t, a)
	clk := newClock()
	const interval = 30 * time.Second
	r := newRemote(t, srv.URL, clk, keys.WithRefetchInterval(interval))

	// The first lookup, of an unknown kid, fetches; 999 more do not.
	for range 1000 {
		wantNotFound(t, r, randomKid())
	}
	wantFetches(t, r, srv, 1)

	// Once the interval has passed, a flood costs one fetch, even in parallel.
	clk.Advance(interval)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 20 {
				if _, err := r.Key(context.Background(), randomKid()); !errors.Is(err, keys.ErrKeyNotFound) {
					t.Errorf("Key(random) = %v, want ErrKeyNotFound", err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantFetches(t, r, srv, 2)

	// The known key still resolves without a fetch.
	wantKey(t, r, "a", a)
	wantFetches(t, r, srv, 2)
}

func TestRemoteRotation(t *testing.T) {
	a, b := newKeyCached(t, keys.ES256, "a"), newKeyCached(t, keys.EdDSA, "b")
	srv := newJWKSServer(t, a)
	clk := newClock()
	const interval = 10 * time.Second
	r := newRemote(t, srv.URL, clk, keys.WithRefetchInterval(interval))
	wantKey(t, r, "a", a)

	// The issuer rotates: b appears. Within the interval b is unknown.
	srv.setKeys(t, b, a)
	clk.Advance(interval - time.Second)
	wantNotFound(t, r, "b")
	wantFetches(t, r, srv, 1)

	// After it, the next lookup of b fetches and finds it.
	clk.Advance(time.Second)
	wantKey(t, r, "b", b)
	wantKey(t, r, "a", a)
	wantFetches(t, r, srv, 2)

	// The issuer drops a: once the cache expires, a is refetched and gone.
	srv.setKeys(t, b)
	clk.Advance(keys.DefaultCacheAge)
	wantNotFound(t, r, "a")
	wantFetches(t, r, srv, 3)
	wantKey(t, r, "b", b)
	wantFetches(t, r, srv, 3)
}
