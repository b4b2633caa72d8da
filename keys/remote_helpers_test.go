package keys_test

// The fake JWKS endpoint of the Remote tests (over HTTP, or in memory for
// synctest bubbles), and their checks of a Remote's keys and fetches.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

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
