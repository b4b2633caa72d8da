package guard

import (
	"testing"

	"github.com/gatehousehq/gatehouse/token"
)

func TestPrincipalsCache(t *testing.T) {
	g := &Guard{}
	var ps principals
	c := &token.Claims{Subject: "alice", Scope: "a b", ScopeList: token.StringList{"b", "c"}, Org: "acme"}
	p := ps.get(g, c)
	if p.Subject != "alice" || p.Org != "acme" || p.Claims != c || p.guard != g || len(p.Scopes) != 3 {
		t.Fatalf("principal %+v", p)
	}
	if ps.get(g, c) != p {
		t.Error("the same claims built a second principal")
	}
	// Equal claims at another address are another token's.
	c2 := *c
	if ps.get(g, &c2) == p {
		t.Error("claims at another address share a principal")
	}
	// The map is bounded.
	for range maxPrincipals + 1 {
		ps.get(g, &token.Claims{})
	}
	n := 0
	ps.m.Range(func(any, any) bool { n++; return true })
	if n > maxPrincipals {
		t.Errorf("%d principals held, bound %d", n, maxPrincipals)
	}
}
