package relay

import (
	"strconv"
	"testing"
	"time"
)

// The exchanged-token cache serves a token until its renewal time on the
// exchange's clock, is bounded, and drops a refused token only if it is
// still the one it holds.
func TestTokenCache(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c, err := newTokenCache(8, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	c.put("k", "t1", now.Add(time.Minute))
	c.put("past", "t0", now) // due already: not stored
	if _, ok := c.get("past"); ok {
		t.Fatal("a token already due for renewal was stored")
	}
	now = now.Add(time.Minute - time.Second)
	if tok, ok := c.get("k"); !ok || tok != "t1" {
		t.Fatalf("before renewal: %q %v", tok, ok)
	}
	c.drop("k", "another")
	if _, ok := c.get("k"); !ok {
		t.Fatal("drop of another token removed the entry")
	}
	c.drop("k", "t1")
	if _, ok := c.get("k"); ok {
		t.Fatal("drop of the held token kept it")
	}
	c.put("k", "t2", now.Add(time.Minute))
	now = now.Add(time.Minute)
	if _, ok := c.get("k"); ok {
		t.Fatal("a token served at its renewal time")
	}
	for i := range 100 {
		c.put(strconv.Itoa(i), "t", now.Add(time.Hour))
	}
	c.c.CleanUp()
	if n := c.c.Len(); n > 8 {
		t.Fatalf("cache holds %d tokens, bound 8", n)
	}
}
