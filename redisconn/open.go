package redisconn

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Open returns a client for a Redis URL. It does no I/O.
//
//   - redis://[user[:password]@]host[:port][/db], rediss:// (TLS, the
//     server's certificate verified) or unix:///path: one server
//     (go-redis's ParseURL), ACL user and password included;
//   - with ?master_name=NAME: Sentinel (ParseFailoverURL); the host and
//     every addr= parameter are sentinels, user and password those of the
//     sentinels (the servers' ones go in ?username=&password= as go-redis
//     documents);
//   - with one or more ?addr=host:port and no master_name: Redis Cluster
//     (ParseClusterURL), the host and every addr being seed nodes.
//
// Client options may follow as query parameters (dial_timeout=1s,
// pool_size=20, ...); an unknown one is an error. Every command honours
// its context's deadline (ContextTimeoutEnabled), commands are not retried
// unless the URL sets max_retries (a retried EVALSHA whose answer was lost
// would count twice), and a dial is made once. Share one client per
// process; close it at shutdown.
//
// Errors never contain the URL, which may hold a password.
func Open(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("redis URL does not parse (check its %-escapes and port)")
	}
	switch u.Scheme {
	case "redis", "rediss", "unix":
	default:
		return nil, errors.New("redis URL must start with redis://, rediss:// or unix://")
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		opt, err := redis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, urlError(err)
		}
		failFast(&opt.ContextTimeoutEnabled, &opt.MaxRetries, &opt.DialerRetries)
		return redis.NewFailoverClient(opt), nil
	case q.Has("addr"):
		opt, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, urlError(err)
		}
		failFast(&opt.ContextTimeoutEnabled, &opt.MaxRetries, &opt.DialerRetries)
		return redis.NewClusterClient(opt), nil
	default:
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, urlError(err)
		}
		failFast(&opt.ContextTimeoutEnabled, &opt.MaxRetries, &opt.DialerRetries)
		return redis.NewClient(opt), nil
	}
}

// failFast sets what Open promises on any kind of client: commands honour
// their context's deadline, are not retried unless the URL says so
// (max_retries), and a dial is made once.
func failFast(contextTimeout *bool, maxRetries, dialerRetries *int) {
	*contextTimeout = true
	if *maxRetries == 0 {
		*maxRetries = -1
	}
	*dialerRetries = 1
}

// urlError keeps what go-redis says about a URL without the URL: url.Error
// quotes it whole, and an EscapeError quotes the bad escape, which may sit
// in the password.
func urlError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	var eerr url.EscapeError
	if errors.As(err, &eerr) {
		return errors.New("redis URL: invalid %-escape")
	}
	msg := err.Error()
	if strings.Contains(msg, "@") || strings.Contains(msg, "://") {
		msg = "invalid URL"
	}
	return fmt.Errorf("redis URL: %s", msg)
}
