package authserver

import (
	"strconv"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// A secret that verified is answered from the cache against the same hash
// only; a new hash (a changed secret) and another secret miss; the cache
// is bounded.
func TestSecretCache(t *testing.T) {
	cheap := identity.Argon2Params{MemoryKiB: 8, Time: 1, Threads: 1}
	hash, err := identity.HashPasswordWith("s3cret", cheap)
	if err != nil {
		t.Fatal(err)
	}
	c := newSecretCache()
	cl := &identity.Client{ID: "svc", SecretHash: hash}
	if c.cached(cl, "s3cret") {
		t.Fatal("cached before any verification")
	}
	if c.verify(cl, "wrong") {
		t.Fatal("a wrong secret verified")
	}
	if !c.verify(cl, "wrong", "s3cret") {
		t.Fatal("the right secret (second candidate) did not verify")
	}
	if !c.cached(cl, "s3cret") || c.cached(cl, "wrong") {
		t.Fatal("the cache does not answer for exactly the verified secret")
	}
	changed, _ := identity.HashPasswordWith("s3cret", cheap) // same secret, new salt: a new hash
	if c.cached(&identity.Client{ID: "svc", SecretHash: changed}, "s3cret") {
		t.Fatal("the cache answered for another hash")
	}
	for i := range 2 * maxCachedSecrets {
		id := strconv.Itoa(i)
		c.ok.Set(id, cachedSecret{hash: hash, mac: c.mac(id, "x")}, time.Time{})
	}
	c.ok.CleanUp()
	if n := c.ok.Len(); n > maxCachedSecrets {
		t.Fatalf("the cache holds %d clients, bound %d", n, maxCachedSecrets)
	}
}
