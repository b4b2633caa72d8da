package keys

// The remote JWKS key source: Remote, its defaults and constructor, and the
// lookups of the cached keys (Key, Ready, URL). Its options are in
// remote_options.go, discovery from an issuer URL in remote_discovery.go,
// and the fetch, cache age and background refresh in remote_fetch.go.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults of a [Remote] source.
const (
	DefaultRefetchInterval  = 10 * time.Second
	DefaultMinCacheAge      = time.Minute
	DefaultMaxCacheAge      = 24 * time.Hour
	DefaultCacheAge         = 5 * time.Minute
	DefaultFetchTimeout     = 10 * time.Second
	DefaultMaxResponseBytes = 512 << 10
)

// Remote is a key source backed by an issuer's JWKS URL. It caches the keys
// for the response's Cache-Control max-age (bounded by a minimum and a
// maximum), refetches when a token names an unknown kid, but at most once per
// refetch interval however many unknown kids arrive, and keeps serving the
// last good keys while the endpoint is down or answers garbage. Concurrent
// lookups share one fetch. Every fetch is bounded by a timeout and a response
// size. Until its first fetch succeeds, lookups fail with [ErrUnavailable]
// and [Remote.Ready] is false; [Remote.Prefetch] retries in the background
// meanwhile. A Remote is safe for concurrent use.
type Remote struct {
	// issuer is set for a source found by discovery; jwksURL is empty
	// until the issuer's metadata named it.
	issuer    string
	jwksURL   atomic.Pointer[string]
	client    *http.Client
	refetch   time.Duration
	minAge    time.Duration
	maxAge    time.Duration
	defAge    time.Duration
	timeout   time.Duration
	maxBytes  int64
	now       func() time.Time
	logger    *slog.Logger
	state     atomic.Pointer[remoteState]
	flight    singleflight.Group
	mu        sync.Mutex
	lastTried time.Time
	fetches   atomic.Int64
	failing   atomic.Bool // the last fetch failed
}

type remoteState struct {
	byID    map[string]*Key
	only    *Key
	expires time.Time
}

func (s *remoteState) lookup(kid string) *Key {
	if kid == "" {
		return s.only
	}
	return s.byID[kid]
}

var _ Source = (*Remote)(nil)

// NewRemote returns a source for the JWKS at jwksURL (http or https). It
// fetches lazily, on the first lookup; call [Remote.Refresh] to fetch now,
// or [Remote.Prefetch] to fetch in the background until the keys arrive.
func NewRemote(jwksURL string, opts ...RemoteOption) (*Remote, error) {
	if err := checkURL(jwksURL); err != nil {
		return nil, fmt.Errorf("keys: JWKS URL: %w", err)
	}
	r, err := newRemote(opts)
	if err != nil {
		return nil, err
	}
	r.jwksURL.Store(&jwksURL)
	return r, nil
}

func newRemote(opts []RemoteOption) (*Remote, error) {
	r := &Remote{
		refetch:  DefaultRefetchInterval,
		minAge:   DefaultMinCacheAge,
		maxAge:   DefaultMaxCacheAge,
		defAge:   DefaultCacheAge,
		timeout:  DefaultFetchTimeout,
		maxBytes: DefaultMaxResponseBytes,
		now:      time.Now,
		logger:   slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if err := o.applyRemote(r); err != nil {
			return nil, err
		}
	}
	if r.client == nil {
		r.client = &http.Client{Timeout: r.timeout}
	}
	return r, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	return nil
}

// URL returns the JWKS URL; for a source found by discovery, empty until
// the issuer's metadata answered.
func (r *Remote) URL() string {
	if p := r.jwksURL.Load(); p != nil {
		return *p
	}
	return ""
}

// Ready reports whether the source holds keys: a fetch has succeeded once.
// Later failures keep it ready, serving the last good keys.
func (r *Remote) Ready() bool { return r.state.Load() != nil }

// where names the endpoint for logs and errors: the JWKS URL, or the
// discovery document while it is not known.
func (r *Remote) where() string {
	if u := r.URL(); u != "" {
		return u
	}
	return strings.TrimSuffix(r.issuer, "/") + "/.well-known/openid-configuration"
}

// Fetches returns how many fetches were started, successful or not.
func (r *Remote) Fetches() int64 { return r.fetches.Load() }

// Key returns the key with the given kid, fetching the JWKS when it is not
// known yet (rate-limited) or the cached keys have expired (stale keys serve
// while the endpoint fails).
func (r *Remote) Key(ctx context.Context, kid string) (*Key, error) {
	st := r.state.Load()
	if st != nil {
		if k := st.lookup(kid); k != nil {
			if r.now().Before(st.expires) {
				return k, nil
			}
			fresh, err := r.refreshLimited(ctx)
			if err != nil {
				return k, nil // stale on error; the failure is logged
			}
			if k := fresh.lookup(kid); k != nil {
				return k, nil
			}
			return nil, ErrKeyNotFound
		}
	}
	fresh, err := r.refreshLimited(ctx)
	if fresh == nil {
		fresh = r.state.Load()
	}
	if fresh == nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if k := fresh.lookup(kid); k != nil {
		return k, nil
	}
	return nil, ErrKeyNotFound
}
