package keys

// The options of a [Remote]: its HTTP client, refetch interval, cache ages,
// fetch timeout, response size bound and logger.

import (
	"errors"
	"log/slog"
	"net/http"
	"time"
)

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
