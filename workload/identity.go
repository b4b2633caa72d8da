package workload

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// Issuer signs X509-SVIDs; [CA] is one.
type Issuer interface {
	Issue(id spiffeid.ID, ttl time.Duration) (*x509svid.SVID, error)
}

// Identity is one workload's current X509-SVID, renewed before it expires.
// It implements x509svid.Source: give it to [ServerConfig] and
// [ClientConfig] (or to go-spiffe's tlsconfig), and every new handshake
// presents the newest certificate. Connections already open keep theirs.
//
// A renewal that fails keeps the current SVID and is tried again at the
// next check; it is logged. An Identity is safe for concurrent use; Close
// stops its renewals.
type Identity struct {
	id    spiffeid.ID
	cur   atomic.Pointer[x509svid.SVID]
	fetch func() (*x509svid.SVID, error) // a new SVID (issue, or read files)
	due   func(now time.Time) bool       // whether to fetch now
	now   func() time.Time
	log   *slog.Logger
	every time.Duration

	mu     sync.Mutex // serializes renewals
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
}

// IdentityOption configures an [Identity].
type IdentityOption interface{ applyIdentity(*identityConfig) error }

type identityConfig struct {
	ttl   time.Duration
	every time.Duration
	now   func() time.Time
	log   *slog.Logger
}

type identityOptionFunc func(*identityConfig) error

func (f identityOptionFunc) applyIdentity(c *identityConfig) error { return f(c) }

// WithTTL sets the lifetime of the SVIDs an Identity issues (default
// DefaultSVIDTTL); they are renewed at half of it.
func WithTTL(d time.Duration) IdentityOption {
	return identityOptionFunc(func(c *identityConfig) error {
		if d < MinSVIDTTL || d > MaxSVIDTTL {
			return fmt.Errorf("workload: ttl %s is outside [%s, %s]", d, MinSVIDTTL, MaxSVIDTTL)
		}
		c.ttl = d
		return nil
	})
}

// WithCheckEvery sets how often an Identity checks whether to renew
// (default 10s; at least 10ms).
func WithCheckEvery(d time.Duration) IdentityOption {
	return identityOptionFunc(func(c *identityConfig) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("workload: check interval %s is shorter than 10ms", d)
		}
		c.every = d
		return nil
	})
}

// WithIdentityClock sets the clock that decides renewals (default
// time.Now).
func WithIdentityClock(now func() time.Time) IdentityOption {
	return identityOptionFunc(func(c *identityConfig) error {
		if now == nil {
			return errors.New("workload: nil clock")
		}
		c.now = now
		return nil
	})
}

// WithLogger sets where failed renewals are logged (default
// slog.Default()).
func WithLogger(l *slog.Logger) IdentityOption {
	return identityOptionFunc(func(c *identityConfig) error {
		if l == nil {
			return errors.New("workload: nil logger")
		}
		c.log = l
		return nil
	})
}

func identityOptions(opts []IdentityOption) (identityConfig, error) {
	c := identityConfig{ttl: DefaultSVIDTTL, every: 10 * time.Second, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		if err := o.applyIdentity(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// NewIdentity issues an SVID for id from issuer now, and a new one each
// time the current one has lived half its life.
func NewIdentity(issuer Issuer, id spiffeid.ID, opts ...IdentityOption) (*Identity, error) {
	if issuer == nil {
		return nil, errors.New("workload: an issuer is required (a *workload.CA)")
	}
	cfg, err := identityOptions(opts)
	if err != nil {
		return nil, err
	}
	i := newIdentity(id, cfg, func() (*x509svid.SVID, error) { return issuer.Issue(id, cfg.ttl) })
	i.due = i.halfLife
	return i.start()
}

// NewFileIdentity reads an SVID from certFile (PEM, leaf first, then any
// intermediates) and keyFile (PEM PKCS #8), as written by `gatehouse ca
// issue`, and reads them again whenever either file changes: whatever
// renews the files (a cron job, an agent) rotates the identity without a
// restart. A pair of files that does not parse, or does not match, is
// logged and the previous SVID kept.
func NewFileIdentity(certFile, keyFile string, opts ...IdentityOption) (*Identity, error) {
	cfg, err := identityOptions(opts)
	if err != nil {
		return nil, err
	}
	var (
		seenMu sync.Mutex
		seen   [2]time.Time // the files' modification times at the last load
	)
	stamp := func() ([2]time.Time, error) {
		var s [2]time.Time
		for n, f := range []string{certFile, keyFile} {
			st, err := os.Stat(f)
			if err != nil {
				return s, fmt.Errorf("workload: %w", err)
			}
			s[n] = st.ModTime()
		}
		return s, nil
	}
	var i *Identity
	i = newIdentity(spiffeid.ID{}, cfg, func() (*x509svid.SVID, error) {
		s, err := stamp()
		if err != nil {
			return nil, err
		}
		svid, err := x509svid.Load(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("workload: load %s and %s: %w", certFile, keyFile, err)
		}
		if !i.id.IsZero() && svid.ID != i.id {
			return nil, fmt.Errorf("workload: %s now names %s, not %s: refused", certFile, svid.ID, i.id)
		}
		seenMu.Lock()
		seen = s
		seenMu.Unlock()
		return svid, nil
	})
	i.due = func(time.Time) bool {
		s, err := stamp()
		seenMu.Lock()
		defer seenMu.Unlock()
		return err == nil && s != seen
	}
	return i.start()
}

func newIdentity(id spiffeid.ID, cfg identityConfig, fetch func() (*x509svid.SVID, error)) *Identity {
	return &Identity{id: id, fetch: fetch, now: cfg.now, log: cfg.log, every: cfg.every,
		stop: make(chan struct{}), done: make(chan struct{})}
}

// start fetches the first SVID and starts the renewals.
func (i *Identity) start() (*Identity, error) {
	svid, err := i.fetch()
	if err != nil {
		return nil, err
	}
	i.id = svid.ID
	i.cur.Store(svid)
	go i.loop()
	return i, nil
}

func (i *Identity) loop() {
	defer close(i.done)
	t := time.NewTicker(i.every)
	defer t.Stop()
	for {
		select {
		case <-i.stop:
			return
		case <-t.C:
			if i.due(i.now()) {
				if err := i.Renew(); err != nil {
					i.log.Error("workload identity renewal failed; keeping the current certificate",
						"spiffe_id", i.id.String(), "expires", i.cur.Load().Certificates[0].NotAfter, "error", err)
				}
			}
		}
	}
}

// halfLife reports whether the current SVID has lived half its life.
func (i *Identity) halfLife(now time.Time) bool {
	leaf := i.cur.Load().Certificates[0]
	return !now.Before(leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) / 2))
}

// Renew replaces the current SVID now.
func (i *Identity) Renew() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	svid, err := i.fetch()
	if err != nil {
		return err
	}
	i.cur.Store(svid)
	return nil
}

// ID is the workload's SPIFFE ID.
func (i *Identity) ID() spiffeid.ID { return i.id }

// GetX509SVID returns the current SVID (x509svid.Source).
func (i *Identity) GetX509SVID() (*x509svid.SVID, error) { return i.cur.Load(), nil }

// Close stops the renewals; the current SVID stays available.
func (i *Identity) Close() error {
	i.closed.Do(func() { close(i.stop) })
	<-i.done
	return nil
}
