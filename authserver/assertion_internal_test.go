package authserver

import (
	"strconv"
	"testing"
	"time"
)

// One client's assertions cannot fill the replay cache for the others, and
// a jti is new again only after it expired.
func TestAssertionJTIsPerClientQuota(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	a := newAssertionJTIs(func() time.Time { return now })
	until := now.Add(time.Minute)
	for i := range maxClientJTIs {
		if !a.use("greedy", strconv.Itoa(i), until) {
			t.Fatalf("jti %d refused below the quota", i)
		}
	}
	if a.use("greedy", "one-more", until) {
		t.Fatal("a client went past its quota")
	}
	if !a.use("other", "1", until) {
		t.Fatal("another client was refused because of the greedy one")
	}
	if a.use("other", "1", until) {
		t.Fatal("a jti was used twice")
	}
	now = until.Add(time.Second)
	if !a.use("greedy", "one-more", now.Add(time.Minute)) {
		t.Fatal("the quota did not free up after the jtis expired")
	}
	if !a.use("other", "1", now.Add(time.Minute)) {
		t.Fatal("an expired jti was not forgotten")
	}
	// The expired jtis are gone from the counts too: the greedy client has
	// its one new jti, the other client its one.
	a.seen.CleanUp()
	a.mu.Lock()
	greedy, other := a.counts["greedy"], a.counts["other"]
	a.mu.Unlock()
	if greedy != 1 || other != 1 {
		t.Fatalf("counts after expiry: greedy %d, other %d; want 1 and 1", greedy, other)
	}
}

// A jti forgotten (its assertion was refused for another reason) can be
// used again, and gives its room in the quota back.
func TestAssertionJTIsForget(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	a := newAssertionJTIs(func() time.Time { return now })
	until := now.Add(time.Minute)
	if !a.use("c", "j", until) {
		t.Fatal("first use refused")
	}
	a.forget("c", "j")
	if !a.use("c", "j", until) {
		t.Fatal("a forgotten jti was refused")
	}
	a.mu.Lock()
	n := a.counts["c"]
	a.mu.Unlock()
	if n != 1 {
		t.Fatalf("count %d after use, forget, use; want 1", n)
	}
}
