package token

import (
	"errors"
	"time"
)

// ClockOption sets the clock of a [Verifier] or an [Issuer]: it is both a
// VerifierOption and an IssuerOption, so that each type takes its clock
// one way, by the one name [WithClock].
type ClockOption struct{ now func() time.Time }

var (
	_ VerifierOption = ClockOption{}
	_ IssuerOption   = ClockOption{}
)

// WithClock sets the clock (default time.Now): the one a Verifier checks
// exp, nbf and iat against and expires its cache by, or the one an Issuer
// stamps iat and exp with. A nil clock is an error. Tests in a
// testing/synctest bubble need none: time.Now is the bubble's clock there.
func WithClock(now func() time.Time) ClockOption { return ClockOption{now: now} }

func (o ClockOption) apply(c *verifierConfig) error {
	if o.now == nil {
		return errNilClock
	}
	c.now = o.now
	return nil
}

func (o ClockOption) applyIssuer(i *Issuer) error {
	if o.now == nil {
		return errNilClock
	}
	i.now = o.now
	return nil
}

var errNilClock = errors.New("token: nil clock")
