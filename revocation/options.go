package revocation

import (
	"errors"
	"time"
)

// Option configures a List.
type Option interface{ apply(*config) error }

type config struct {
	now func() time.Time
}

func newConfig(opts []Option) (config, error) {
	cfg := config{now: time.Now}
	for _, o := range opts {
		if err := o.apply(&cfg); err != nil {
			return config{}, err
		}
	}
	return cfg, nil
}

type option func(*config) error

func (f option) apply(c *config) error { return f(c) }

// WithClock sets the clock that expires entries, for tests (default
// time.Now).
func WithClock(now func() time.Time) Option {
	return option(func(c *config) error {
		if now == nil {
			return errors.New("revocation: nil clock")
		}
		c.now = now
		return nil
	})
}
