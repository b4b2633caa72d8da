package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// Run runs the whole suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) identity.Store) {
	open := func(t *testing.T) identity.Store {
		t.Helper()
		s := newStore(t)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("Organizations", func(t *testing.T) { testOrganizations(t, open) })
	t.Run("Clients", func(t *testing.T) { testClients(t, open) })
	t.Run("Codes", func(t *testing.T) { testCodes(t, open) })
	t.Run("PushedRequests", func(t *testing.T) { testPushedRequests(t, open) })
	t.Run("RefreshTokens", func(t *testing.T) { testRefreshTokens(t, open) })
	t.Run("Revocations", func(t *testing.T) { testRevocations(t, open) })
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, open) })
	t.Run("GrantPruner", func(t *testing.T) { testGrantPruner(t, open) })
}

type opener = func(t *testing.T) identity.Store

// concurrency is how many goroutines race in the atomicity tests.
const concurrency = 20

// now is the test clock: the current time in UTC, on a millisecond.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// wantErr fails the test unless err is want (nil meaning success).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

// must fails the test on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	wantErr(t, what, err, nil)
}

// same fails the test when got differs from want; see diff.
func same(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := diff(want, got); len(d) > 0 {
		t.Errorf("%s differs from what was stored:\n%s", what, joinLines(d))
	}
}

func joinLines(lines []string) string {
	var s string
	for _, l := range lines {
		s += "\t" + l + "\n"
	}
	return s
}

// diff compares two structs (or pointers to structs) of the same type field
// by field: times at millisecond precision and in UTC when non-zero, string
// slices with nil equal to empty, anything else exactly.
func diff(want, got any) []string {
	wv, gv := reflect.Indirect(reflect.ValueOf(want)), reflect.Indirect(reflect.ValueOf(got))
	if !gv.IsValid() {
		return []string{"got nil"}
	}
	var out []string
	for i := range wv.NumField() {
		name := wv.Type().Field(i).Name
		w, g := wv.Field(i).Interface(), gv.Field(i).Interface()
		switch w := w.(type) {
		case time.Time:
			if msg := timeDiff(w, g.(time.Time)); msg != "" {
				out = append(out, name+": "+msg)
			}
		case []string:
			if !slices.Equal(w, g.([]string)) {
				out = append(out, fmt.Sprintf("%s: got %q, want %q", name, g, w))
			}
		default:
			if !reflect.DeepEqual(w, g) {
				out = append(out, fmt.Sprintf("%s: got %v, want %v", name, g, w))
			}
		}
	}
	return out
}

// timeDiff describes how got differs from want, or returns "".
func timeDiff(want, got time.Time) string {
	switch {
	case want.IsZero() && got.IsZero():
		return ""
	case want.IsZero() || got.IsZero():
		return fmt.Sprintf("got %v, want %v", got, want)
	case got.Location() != time.UTC:
		return fmt.Sprintf("got %v in %v, want UTC", got, got.Location())
	}
	if d := got.Sub(want).Abs(); d >= time.Millisecond {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	return ""
}

// sameTime fails the test when got is not want at millisecond precision.
func sameTime(t *testing.T, what string, want, got time.Time) {
	t.Helper()
	if msg := timeDiff(want, got); msg != "" {
		t.Errorf("%s: %s", what, msg)
	}
}

// within fails the test unless got, set by the store from its own clock,
// lies between before and after (at millisecond precision).
func within(t *testing.T, what string, got, before, after time.Time) {
	t.Helper()
	if got.IsZero() {
		t.Errorf("%s is not set", what)
		return
	}
	if got.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, got.Location())
	}
	if got.Before(before.Truncate(time.Millisecond)) || got.After(after.Add(time.Millisecond)) {
		t.Errorf("%s = %v, want between %v and %v", what, got, before, after)
	}
}

// warmUp runs concurrent reads on s first, so that a pooled store has its
// connections open when the race starts and the callers truly overlap.
func warmUp(t *testing.T, s identity.Store) {
	t.Helper()
	for _, err := range race(concurrency, func(int) error {
		_, err := s.FamilyRevoked(t.Context(), "warm-up")
		return err
	}) {
		must(t, "warm-up", err)
	}
}

// race runs f n times at once, concurrently, and returns the errors.
func race(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner fails the test unless exactly one of errs is nil and every
// other one is one of losers.
func oneWinner(t *testing.T, what string, errs []error, losers ...error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
			continue
		}
		if !slices.ContainsFunc(losers, func(l error) bool { return errors.Is(err, l) }) {
			t.Errorf("%s: unexpected error %v, want one of %v", what, err, losers)
		}
	}
	if wins != 1 {
		t.Errorf("%s: %d of %d calls succeeded, want exactly 1", what, wins, len(errs))
	}
}
