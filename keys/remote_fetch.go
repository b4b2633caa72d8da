package keys

// The fetches of a [Remote]: one at a time, shared by concurrent lookups and
// rate-limited by the refetch interval; the cache age read from the
// response; and the background retries of [Remote.Prefetch].

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

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
