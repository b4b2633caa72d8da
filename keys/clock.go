package keys

import (
	"errors"
	"time"
)

// ClockOption sets the clock of a [Remote] or a [Set]: it is both a
// RemoteOption and a SetOption, so that each type takes its clock one way,
// by the one name [WithClock].
type ClockOption struct{ now func() time.Time }

var (
	_ RemoteOption = ClockOption{}
	_ SetOption    = ClockOption{}
)

// WithClock sets the clock (default time.Now) that a Remote reads for the
// age of its keys and its refetch interval, and that a Set reads to retire
// replaced keys. A nil clock is an error. Tests in a testing/synctest
// bubble need none: time.Now is the bubble's clock there.
func WithClock(now func() time.Time) ClockOption { return ClockOption{now: now} }

func (o ClockOption) applyRemote(r *Remote) error {
	if o.now == nil {
		return errNilClock
	}
	r.now = o.now
	return nil
}

func (o ClockOption) applySet(s *Set) error {
	if o.now == nil {
		return errNilClock
	}
	s.now = o.now
	return nil
}

var errNilClock = errors.New("keys: nil clock")
