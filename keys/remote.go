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

// WithLogger sets where fetch failures are logged (default: nowhere).
func WithLogger(l *slog.Logger) RemoteOption {
	return remoteOptionFunc(func(r *Remote) error { r.logger = l; return nil })
}

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

// NewRemoteFromIssuer reads the issuer's OpenID Connect discovery document
// (falling back to RFC 8414 metadata), checks that its "issuer" equals issuer
// exactly, and returns a source for its jwks_uri with the keys fetched.
//
// An answer that shows the issuer to be wrong (a document naming another
// issuer, no document, no jwks_uri, a JWKS without a usable key) is an
// error. When the issuer cannot be reached (a network error, a timeout, a
// 5xx or 429 answer), it returns the source together with an error
// wrapping [ErrUnavailable]: a caller that must not start without keys
// treats every error as fatal; one that may start (a gateway) keeps the
// source, calls [Remote.Prefetch] and reports [Remote.Ready]. Such a source
// discovers its JWKS URL at its first successful fetch; lookups until then
// fail with ErrUnavailable.
func NewRemoteFromIssuer(ctx context.Context, issuer string, opts ...RemoteOption) (*Remote, error) {
	if err := checkURL(issuer); err != nil {
		return nil, fmt.Errorf("keys: issuer: %w", err)
	}
	r, err := newRemote(opts)
	if err != nil {
		return nil, err
	}
	r.issuer = issuer
	if err := r.Refresh(ctx); err != nil {
		if errors.Is(err, ErrUnavailable) {
			return r, err
		}
		return nil, err
	}
	return r, nil
}

// discover reads the issuer's metadata and returns its jwks_uri. Its error
// wraps ErrUnavailable when the issuer could not be reached.
func (r *Remote) discover(ctx context.Context) (string, error) {
	base := strings.TrimSuffix(r.issuer, "/")
	u, _ := url.Parse(base)
	candidates := []string{
		base + "/.well-known/openid-configuration",
		u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + u.Path,
	}
	var lastErr, transient error
	for _, c := range candidates {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		body, _, err := r.get(ctx, c)
		if err != nil {
			lastErr = err
			if errors.Is(err, ErrUnavailable) {
				transient = err
			}
			continue
		}
		if err := strictUnmarshal(body, &meta); err != nil {
			return "", fmt.Errorf("keys: discovery document %s is not valid JSON: %w", c, err)
		}
		if meta.Issuer != r.issuer {
			return "", fmt.Errorf("keys: discovery document %s names issuer %q, want exactly %q", c, meta.Issuer, r.issuer)
		}
		if meta.JWKSURI == "" {
			return "", fmt.Errorf("keys: discovery document %s has no jwks_uri", c)
		}
		if err := checkURL(meta.JWKSURI); err != nil {
			return "", fmt.Errorf("keys: discovery document %s: JWKS URL: %w", c, err)
		}
		return meta.JWKSURI, nil
	}
	if transient != nil {
		lastErr = transient
	}
	return "", fmt.Errorf("keys: discovery for issuer %s: %w", r.issuer, lastErr)
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

var errTooSoon = errors.New("keys: refetch interval not elapsed")

// refreshLimited fetches unless a fetch was tried within the refetch
// interval; callers that arrive during a fetch wait for its result.
func (r *Remote) refreshLimited(ctx context.Context) (*remoteState, error) {
	return r.fetchShared(ctx, true)
}

// refreshShared fetches now, whatever the refetch interval, sharing a
// fetch in flight.
func (r *Remote) refreshShared(ctx context.Context) (*remoteState, error) {
	return r.fetchShared(ctx, false)
}

// fetchShared runs one fetch at a time, which every caller meanwhile
// waits for; limited skips it (errTooSoon) when one was tried within the
// refetch interval.
func (r *Remote) fetchShared(ctx context.Context, limited bool) (*remoteState, error) {
	ch := r.flight.DoChan("fetch", func() (any, error) {
		now := r.now()
		r.mu.Lock()
		if limited && !r.lastTried.IsZero() && now.Sub(r.lastTried) < r.refetch {
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
	target := r.URL()
	var err error
	if target == "" {
		if target, err = r.discover(ctx); err == nil {
			r.jwksURL.Store(&target)
		}
	}
	var body []byte
	var header http.Header
	if err == nil {
		body, header, err = r.get(ctx, target)
	}
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
			first := r.state.Swap(st) == nil
			if r.failing.Swap(false) {
				msg := "JWKS fetched again after failures"
				if first {
					msg = "JWKS answered for the first time; its tokens can be verified"
				}
				r.logger.LogAttrs(ctx, slog.LevelInfo, msg, slog.String("url", target), slog.Int("keys", len(ks)))
			}
			return st, nil
		}
	}
	r.failing.Store(true)
	msg := "JWKS fetch failed; keeping the last good keys"
	if r.state.Load() == nil {
		msg = "JWKS has never answered; tokens it signs cannot be verified until it does"
	}
	attrs := []slog.Attr{slog.String("url", r.where()), slog.String("error", err.Error())}
	if r.issuer != "" {
		attrs = append(attrs, slog.String("issuer", r.issuer))
	}
	r.logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
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
		return nil, nil, unreachable{fmt.Errorf("keys: fetch %s: %w", target, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.maxBytes+1))
	if err != nil {
		return nil, nil, unreachable{fmt.Errorf("keys: read %s: %w", target, err)}
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("keys: fetch %s: status %d", target, resp.StatusCode)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, nil, unreachable{err}
		}
		return nil, nil, err
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

// unreachable marks the error of a fetch that may succeed when retried:
// the endpoint could not be reached, timed out or answered 5xx or 429. It
// matches ErrUnavailable without changing the message.
type unreachable struct{ error }

func (e unreachable) Unwrap() error { return e.error }

func (unreachable) Is(target error) bool { return target == ErrUnavailable }

// Bounds of the backoff of [Remote.Prefetch].
const (
	prefetchFirstDelay = time.Second
	prefetchMaxDelay   = 30 * time.Second
)

// Prefetch fetches the keys in the background until the source holds some,
// at once (after the first delay when a fetch was tried already), then
// after failures with a backoff that doubles from one second (or the
// refetch interval, when shorter) up to 30 seconds. It returns at once;
// the retries stop when keys arrive or ctx is done. Each failure is logged
// (see [WithLogger]), and so is the first success after failures. Fetches
// are shared with lookups, so calling it from several places costs nothing
// extra.
func (r *Remote) Prefetch(ctx context.Context) {
	if r.Ready() {
		return
	}
	tried := r.Fetches() > 0 // a failed fetch just now: wait before the next
	go func() {
		delay := min(prefetchFirstDelay, r.refetch)
		for !r.Ready() {
			if tried {
				t := time.NewTimer(delay)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				delay = min(2*delay, max(prefetchMaxDelay, delay))
			}
			tried = true
			if _, err := r.refreshShared(ctx); err == nil {
				return
			}
		}
	}()
}
