package keys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
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
// size. A Remote is safe for concurrent use.
type Remote struct {
	url       string
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

// RemoteOption configures a [Remote].
type RemoteOption interface{ applyRemote(*Remote) error }

type remoteOptionFunc func(*Remote) error

func (f remoteOptionFunc) applyRemote(r *Remote) error { return f(r) }

// WithHTTPClient sets the client used to fetch (default: a client with the
// fetch timeout). Its own timeout and transport apply as well.
func WithHTTPClient(c *http.Client) RemoteOption {
	return remoteOptionFunc(func(r *Remote) error {
		if c == nil {
			return errors.New("keys: nil HTTP client")
		}
		r.client = c
		return nil
	})
}

// WithRefetchInterval sets the least time between two fetches triggered by
// unknown kids or failures (default 10s): a flood of tokens with random kids
// costs the issuer at most one request per interval.
func WithRefetchInterval(d time.Duration) RemoteOption {
	return remoteOptionFunc(func(r *Remote) error {
		if d <= 0 {
			return errors.New("keys: refetch interval must be positive")
		}
		r.refetch = d
		return nil
	})
}

// WithCacheAge bounds how long fetched keys are used before a refresh:
// Cache-Control max-age is honoured within [min, max]; def applies when the
// response has none (defaults 1m, 24h, 5m).
func WithCacheAge(min, def, max time.Duration) RemoteOption {
	return remoteOptionFunc(func(r *Remote) error {
		if min <= 0 || def < min || max < def {
			return errors.New("keys: cache ages must satisfy 0 < min <= default <= max")
		}
		r.minAge, r.defAge, r.maxAge = min, def, max
		return nil
	})
}

// WithFetchTimeout bounds each fetch (default 10s).
func WithFetchTimeout(d time.Duration) RemoteOption {
	return remoteOptionFunc(func(r *Remote) error {
		if d <= 0 {
			return errors.New("keys: fetch timeout must be positive")
		}
		r.timeout = d
		return nil
	})
}

// WithMaxResponseBytes bounds the JWKS response body (default 512 KiB).
func WithMaxResponseBytes(n int64) RemoteOption {
	return remoteOptionFunc(func(r *Remote) error {
		if n <= 0 {
			return errors.New("keys: max response size must be positive")
		}
		r.maxBytes = n
		return nil
	})
}

// WithRemoteClock sets the clock (default time.Now).
func WithRemoteClock(now func() time.Time) RemoteOption {
	return remoteOptionFunc(func(r *Remote) error { r.now = now; return nil })
}

// WithLogger sets where fetch failures are logged (default: nowhere).
func WithLogger(l *slog.Logger) RemoteOption {
	return remoteOptionFunc(func(r *Remote) error { r.logger = l; return nil })
}

// NewRemote returns a source for the JWKS at jwksURL (http or https). It
// fetches lazily, on the first lookup; call [Remote.Refresh] to fetch now.
func NewRemote(jwksURL string, opts ...RemoteOption) (*Remote, error) {
	if err := checkURL(jwksURL); err != nil {
		return nil, fmt.Errorf("keys: JWKS URL: %w", err)
	}
	r := &Remote{
		url:      jwksURL,
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

// NewRemoteFromIssuer reads the issuer's OpenID Connect discovery document
// (falling back to RFC 8414 metadata), checks that its "issuer" equals issuer
// exactly, and returns a source for its jwks_uri with the keys fetched.
func NewRemoteFromIssuer(ctx context.Context, issuer string, opts ...RemoteOption) (*Remote, error) {
	if err := checkURL(issuer); err != nil {
		return nil, fmt.Errorf("keys: issuer: %w", err)
	}
	probe, err := NewRemote(issuer, opts...)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(issuer, "/")
	u, _ := url.Parse(base)
	candidates := []string{
		base + "/.well-known/openid-configuration",
		u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + u.Path,
	}
	var lastErr error
	for _, c := range candidates {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		body, _, err := probe.get(ctx, c)
		if err != nil {
			lastErr = err
			continue
		}
		if err := strictUnmarshal(body, &meta); err != nil {
			return nil, fmt.Errorf("keys: discovery document %s is not valid JSON: %w", c, err)
		}
		if meta.Issuer != issuer {
			return nil, fmt.Errorf("keys: discovery document %s names issuer %q, want exactly %q", c, meta.Issuer, issuer)
		}
		if meta.JWKSURI == "" {
			return nil, fmt.Errorf("keys: discovery document %s has no jwks_uri", c)
		}
		r, err := NewRemote(meta.JWKSURI, opts...)
		if err != nil {
			return nil, err
		}
		if err := r.Refresh(ctx); err != nil {
			return nil, err
		}
		return r, nil
	}
	return nil, fmt.Errorf("keys: discovery for issuer %s: %w", issuer, lastErr)
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

// URL returns the JWKS URL.
func (r *Remote) URL() string { return r.url }

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

var errTooSoon = errors.New("keys: refetch interval not elapsed")

// refreshLimited fetches unless a fetch was tried within the refetch
// interval; callers that arrive during a fetch wait for its result.
func (r *Remote) refreshLimited(ctx context.Context) (*remoteState, error) {
	ch := r.flight.DoChan("fetch", func() (any, error) {
		now := r.now()
		r.mu.Lock()
		if !r.lastTried.IsZero() && now.Sub(r.lastTried) < r.refetch {
			r.mu.Unlock()
			return nil, errTooSoon
		}
		r.lastTried = now
		r.mu.Unlock()
		return r.fetch(context.WithoutCancel(ctx))
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*remoteState), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Refresh fetches the JWKS now, whatever the refetch interval.
func (r *Remote) Refresh(ctx context.Context) error {
	r.mu.Lock()
	r.lastTried = r.now()
	r.mu.Unlock()
	_, err := r.fetch(ctx)
	return err
}

func (r *Remote) fetch(ctx context.Context) (*remoteState, error) {
	r.fetches.Add(1)
	body, header, err := r.get(ctx, r.url)
	if err == nil {
		var ks []*Key
		ks, err = ParseJWKS(body)
		if err == nil && len(ks) == 0 {
			err = errors.New("keys: JWKS holds no usable signing key")
		}
		if err == nil {
			st := &remoteState{byID: make(map[string]*Key, len(ks)), expires: r.now().Add(r.cacheAge(header))}
			for _, k := range ks {
				st.byID[k.id] = k
			}
			if len(ks) == 1 {
				st.only = ks[0]
			}
			r.state.Store(st)
			return st, nil
		}
	}
	r.logger.LogAttrs(ctx, slog.LevelWarn, "JWKS fetch failed; keeping the last good keys",
		slog.String("url", r.url), slog.String("error", err.Error()))
	return nil, err
}

func (r *Remote) get(ctx context.Context, target string) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("keys: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("keys: fetch %s: %w", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.maxBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("keys: read %s: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("keys: fetch %s: status %d", target, resp.StatusCode)
	}
	if int64(len(body)) > r.maxBytes {
		return nil, nil, fmt.Errorf("keys: %s answered more than %d bytes", target, r.maxBytes)
	}
	return body, resp.Header, nil
}

// cacheAge reads max-age from Cache-Control (RFC 9111 §5.2.2.1), bounded.
func (r *Remote) cacheAge(h http.Header) time.Duration {
	age := r.defAge
	for _, directive := range strings.Split(h.Get("Cache-Control"), ",") {
		directive = strings.ToLower(strings.TrimSpace(directive))
		switch {
		case directive == "no-store" || directive == "no-cache":
			return r.minAge
		case strings.HasPrefix(directive, "max-age="):
			if n, err := strconv.ParseInt(strings.Trim(directive[len("max-age="):], `"`), 10, 64); err == nil && n >= 0 {
				if n > int64(r.maxAge/time.Second) {
					n = int64(r.maxAge / time.Second)
				}
				age = time.Duration(n) * time.Second
			}
		}
	}
	return min(max(age, r.minAge), r.maxAge)
}
