package keys_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// Ways a fake JWKS endpoint answers.
const (
	serveOK      = "ok"
	serve500     = "500"
	serveGarbage = "garbage"
	serveEmpty   = "empty" // a valid JWKS without a usable key
	serveHang    = "hang"  // never answers; the request is cut by its context
	serveBlock   = "block" // answers once release is closed
)

// jwksServer is a real HTTP JWKS endpoint whose keys and behaviour a test
// changes as it goes.
type jwksServer struct {
	*httptest.Server
	hits        atomic.Int64
	entered     chan struct{} // receives when a request arrives in serveBlock
	release     chan struct{} // closed to let serveBlock requests answer
	unblockOnce sync.Once

	mu           sync.Mutex
	body         []byte
	cacheControl string
	mode         string
}

func newJWKSServer(t *testing.T, ks ...*keys.Key) *jwksServer {
	t.Helper()
	s := newJWKSEndpoint(t, ks...)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	t.Cleanup(s.unblock) // before Close: Cleanup runs last-in first-out
	return s
}

// newMemJWKS is a jwksServer in memory, for tests in a synctest bubble
// (which cannot wait on real network I/O): the client it returns serves
// memJWKSURL with it. Its Server is nil; call unblock before the bubble
// ends if the test blocks requests.
func newMemJWKS(t *testing.T, ks ...*keys.Key) (*jwksServer, *http.Client) {
	t.Helper()
	s := newJWKSEndpoint(t, ks...)
	return s, &http.Client{Transport: handlerTransport{http.HandlerFunc(s.serve)}}
}

const memJWKSURL = "http://issuer.test/jwks"

func newJWKSEndpoint(t *testing.T, ks ...*keys.Key) *jwksServer {
	t.Helper()
	return &jwksServer{
		body:    jwksOf(t, ks...),
		mode:    serveOK,
		entered: make(chan struct{}, 100),
		release: make(chan struct{}),
	}
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	body, cc, mode := s.body, s.cacheControl, s.mode
	s.mu.Unlock()
	switch mode {
	case serve500:
		http.Error(w, "down", http.StatusInternalServerError)
		return
	case serveGarbage:
		w.Write([]byte("<html>maintenance</html>"))
		return
	case serveEmpty:
		w.Write([]byte(`{"keys":[]}`))
		return
	case serveHang:
		select {
		case <-r.Context().Done():
		case <-s.release: // the test is over
		}
		return
	case serveBlock:
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(body)
}

func (s *jwksServer) set(mode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = mode
}

func (s *jwksServer) setKeys(t *testing.T, ks ...*keys.Key) {
	body := jwksOf(t, ks...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

func (s *jwksServer) setCacheControl(cc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cacheControl = cc
}

func (s *jwksServer) unblock() { s.unblockOnce.Do(func() { close(s.release) }) }

func newRemote(t *testing.T, url string, clk *clock, opts ...keys.RemoteOption) *keys.Remote {
	t.Helper()
	opts = append([]keys.RemoteOption{keys.WithClock(clk.Now)}, opts...)
	r, err := keys.NewRemote(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantFetches checks the fetches the Remote counted and the requests the
// server saw.
func wantFetches(t *testing.T, r *keys.Remote, srv *jwksServer, n int64) {
	t.Helper()
	if got := r.Fetches(); got != n {
		t.Errorf("Fetches() = %d, want %d", got, n)
	}
	if srv != nil {
		if got := srv.hits.Load(); got != n {
			t.Errorf("server saw %d requests, want %d", got, n)
		}
	}
}

func wantKey(t *testing.T, r *keys.Remote, kid string, want *keys.Key) {
	t.Helper()
	k, err := r.Key(context.Background(), kid)
	if err != nil {
		t.Fatalf("Key(%q): %v", kid, err)
	}
	if !k.SameKey(want) || k.CanSign() {
		t.Fatalf("Key(%q) = %v, want public %v", kid, k, want)
	}
}

func wantNotFound(t *testing.T, r *keys.Remote, kid string) {
	t.Helper()
	k, err := r.Key(context.Background(), kid)
	if !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("Key(%q) = %v, %v; want ErrKeyNotFound", kid, k, err)
	}
}

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

func TestNewRemoteOptions(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opt  keys.RemoteOption
	}{
		{"ftp URL", "ftp://example.com/jwks", nil},
		{"relative URL", "/jwks", nil},
		{"no host", "https:///jwks", nil},
		{"bad URL", "http://[::1", nil},
		{"zero refetch interval", "https://example.com/jwks", keys.WithRefetchInterval(0)},
		{"zero min cache age", "https://example.com/jwks", keys.WithCacheAge(0, time.Minute, time.Hour)},
		{"default below min", "https://example.com/jwks", keys.WithCacheAge(time.Minute, time.Second, time.Hour)},
		{"max below default", "https://example.com/jwks", keys.WithCacheAge(time.Minute, time.Hour, 2*time.Minute)},
		{"zero fetch timeout", "https://example.com/jwks", keys.WithFetchTimeout(0)},
		{"zero max response", "https://example.com/jwks", keys.WithMaxResponseBytes(0)},
		{"nil client", "https://example.com/jwks", keys.WithHTTPClient(nil)},
		{"nil clock", "https://example.com/jwks", keys.WithClock(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []keys.RemoteOption
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			if r, err := keys.NewRemote(tt.url, opts...); err == nil {
				t.Errorf("NewRemote succeeded: %v", r.URL())
			}
		})
	}
}

// discoveryServer serves a JWKS at /jwks and the given documents by path,
// with ISSUER replaced by the server's URL.
func discoveryServer(t *testing.T, k *keys.Key, docs map[string]string) *httptest.Server {
	t.Helper()
	body := jwksOf(t, k)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks" {
			w.Write(body)
			return
		}
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(strings.ReplaceAll(doc, "ISSUER", srv.URL)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestNewRemoteFromIssuer(t *testing.T) {
	ctx := context.Background()
	a := newKeyCached(t, keys.ES256, "a")
	const oidc = "/.well-known/openid-configuration"
	tests := []struct {
		name    string
		path    string // appended to the server URL to form the issuer
		docs    map[string]string
		wantErr string // empty: succeeds
	}{
		{"OpenID Connect discovery", "", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"ISSUER/jwks"}`,
		}, ""},
		{"issuer with a path", "/tenant", map[string]string{
			"/tenant" + oidc: `{"issuer":"ISSUER/tenant","jwks_uri":"ISSUER/jwks"}`,
		}, ""},
		{"RFC 8414 fallback", "/tenant", map[string]string{
			"/.well-known/oauth-authorization-server/tenant": `{"issuer":"ISSUER/tenant","jwks_uri":"ISSUER/jwks"}`,
		}, ""},
		{"another issuer", "", map[string]string{
			oidc: `{"issuer":"https://evil.example","jwks_uri":"ISSUER/jwks"}`,
		}, `names issuer "https://evil.example"`},
		{"issuer with a trailing slash", "/", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"ISSUER/jwks"}`,
		}, "want exactly"},
		{"issuer differing in case", "", map[string]string{
			oidc: `{"issuer":"https://evil.example","Issuer":"ISSUER","jwks_uri":"ISSUER/jwks"}`,
		}, "issuer"},
		{"issuer twice", "", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"ISSUER/jwks","issuer":"ISSUER"}`,
		}, "duplicate"},
		{"no jwks_uri", "", map[string]string{
			oidc: `{"issuer":"ISSUER"}`,
		}, "no jwks_uri"},
		{"jwks_uri not http", "", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"file:///etc/passwd"}`,
		}, "JWKS URL"},
		{"not JSON", "", map[string]string{oidc: `<html>`}, "not valid JSON"},
		{"no discovery document", "", nil, "discovery for issuer"},
		{"JWKS unusable", "", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"ISSUER/missing"}`,
		}, "status 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := discoveryServer(t, a, tt.docs)
			issuer := srv.URL + tt.path
			r, err := keys.NewRemoteFromIssuer(ctx, issuer, keys.WithClock(newClock().Now))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("NewRemoteFromIssuer succeeded: %s", r.URL())
				}
				wantErr(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("NewRemoteFromIssuer: %v", err)
			}
			if r.URL() != srv.URL+"/jwks" {
				t.Errorf("URL() = %s", r.URL())
			}
			wantFetches(t, r, nil, 1) // the keys are fetched already
			wantKey(t, r, "a", a)
			wantFetches(t, r, nil, 1)
		})
	}
	if _, err := keys.NewRemoteFromIssuer(ctx, "ftp://example.com"); err == nil {
		t.Error("NewRemoteFromIssuer(ftp) succeeded")
	}
}
