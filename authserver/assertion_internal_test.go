package authserver

import (
	"strconv"
	"testing"
	"time"
)

// One client's assertions cannot fill the replay cache for the others, and
// a jti is new again only after it expired.
func TestAssertionJTIsPerClientQuota(t *testing.T) {
	a := newAssertionJTIs()
	now := time.Unix(1_000_000, 0)
	until := now.Add(time.Minute)
	for i := range maxClientJTIs {
		if !a.use("greedy", strconv.Itoa(i), until, now) {
			t.Fatalf("jti %d refused below the quota", i)
		}
	}
	if a.use("greedy", "one-more", until, now) {
		t.Fatal("a client went past its quota")
	}
	if !a.use("other", "1", until, now) {
		t.Fatal("another client was refused because of the greedy one")
	}
	if a.use("other", "1", until, now) {
		t.Fatal("a jti was used twice")
	}
	later := until.Add(time.Second)
	if !a.use("greedy", "one-more", later.Add(time.Minute), later) {
		t.Fatal("the quota did not free up after the jtis expired")
	}
	if !a.use("other", "1", later.Add(time.Minute), later) {
		t.Fatal("an expired jti was not forgotten")
	}
}
