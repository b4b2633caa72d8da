package revocation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newMemory(t testing.TB, clk *fakeClock) *revocation.List {
	t.Helper()
	l, err := revocation.NewMemory(revocation.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func add(t testing.TB, l *revocation.List, e revocation.Entry) {
	t.Helper()
	if err := l.Add(context.Background(), e); err != nil {
		t.Fatalf("Add(%+v): %v", e, err)
	}
}

func revoked(t testing.TB, l *revocation.List, c *token.Claims) bool {
	t.Helper()
	r, err := l.Revoked(context.Background(), c)
	if err != nil {
		t.Fatalf("Revoked: %v", err)
	}
	return r
}

func TestMemoryTokenIsRevokedUntilItsExp(t *testing.T) {
	clk := newFakeClock()
	l := newMemory(t, clk)
	exp := clk.Now().Add(10 * time.Minute)
	add(t, l, revocation.ByToken("j1", exp))
	if !revoked(t, l, &token.Claims{ID: "j1", Subject: "alice"}) {
		t.Fatal("j1 not revoked")
	}
	if revoked(t, l, &token.Claims{ID: "j2", Subject: "alice"}) {
		t.Fatal("j2 revoked by j1's entry")
	}
	clk.Advance(10*time.Minute - time.Millisecond)
	if !revoked(t, l, &token.Claims{ID: "j1"}) {
		t.Fatal("j1 not revoked just before exp")
	}
	clk.Advance(time.Millisecond)
	if revoked(t, l, &token.Claims{ID: "j1"}) {
		t.Fatal("the entry outlived its Until")
	}
}

func TestMemorySubjectAndClientByIssuedAt(t *testing.T) {
	clk := newFakeClock()
	l := newMemory(t, clk)
	at := clk.Now().Add(500 * time.Millisecond) // mid-second
	until := at.Add(time.Hour)
	add(t, l, revocation.BySubject("alice", at, until))
	add(t, l, revocation.ByClient("billing", at, until))
	sec := at.Truncate(time.Second)
	for name, tc := range map[string]struct {
		c    token.Claims
		want bool
	}{
		"alice issued before":             {token.Claims{Subject: "alice", IssuedAt: token.At(sec.Add(-time.Minute))}, true},
		"alice issued in the same second": {token.Claims{Subject: "alice", IssuedAt: token.At(sec)}, true},
		"alice issued after":              {token.Claims{Subject: "alice", IssuedAt: token.At(sec.Add(time.Second))}, false},
		"alice without iat":               {token.Claims{Subject: "alice"}, true},
		"bob issued before":               {token.Claims{Subject: "bob", IssuedAt: token.At(sec.Add(-time.Minute))}, false},
		"client issued before":            {token.Claims{Subject: "svc", ClientID: "billing", IssuedAt: token.At(sec.Add(-time.Minute))}, true},
		"client issued after":             {token.Claims{Subject: "svc", ClientID: "billing", IssuedAt: token.At(sec.Add(time.Second))}, false},
		"other client":                    {token.Claims{Subject: "svc", ClientID: "orders", IssuedAt: token.At(sec.Add(-time.Minute))}, false},
		"a client id equal to a subject":  {token.Claims{Subject: "svc", ClientID: "alice", IssuedAt: token.At(sec.Add(-time.Minute))}, false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := revoked(t, l, &tc.c); got != tc.want {
				t.Fatalf("Revoked = %v, want %v", got, tc.want)
			}
		})
	}
	clk.Advance(time.Hour + time.Second)
	if revoked(t, l, &token.Claims{Subject: "alice", IssuedAt: token.At(sec.Add(-time.Minute))}) {
		t.Fatal("the subject entry outlived its Until")
	}
}

func TestMemoryMergeKeepsTheLaterTimes(t *testing.T) {
	clk := newFakeClock()
	l := newMemory(t, clk)
	now := clk.Now()
	var got []revocation.Entry
	l.OnRevoke(func(e revocation.Entry) { got = append(got, e) })

	add(t, l, revocation.BySubject("alice", now, now.Add(time.Hour)))
	add(t, l, revocation.BySubject("alice", now.Add(-time.Hour), now.Add(2*time.Hour))) // earlier before, later until
	add(t, l, revocation.BySubject("alice", now.Add(-time.Hour), now.Add(time.Hour)))   // changes nothing
	entries := l.Entries()
	if len(entries) != 1 {
		t.Fatalf("entries = %+v", entries)
	}
	want := revocation.BySubject("alice", now, now.Add(2*time.Hour))
	if !entries[0].IssuedBefore.Equal(want.IssuedBefore) || !entries[0].Until.Equal(want.Until) {
		t.Fatalf("merged entry %+v, want %+v", entries[0], want)
	}
	if len(got) != 2 {
		t.Fatalf("OnRevoke ran %d times, want 2 (new, then extended; not for the no-op)", len(got))
	}
}

func TestOnRevokeRemove(t *testing.T) {
	clk := newFakeClock()
	l := newMemory(t, clk)
	n := 0
	remove := l.OnRevoke(func(revocation.Entry) { n++ })
	add(t, l, revocation.ByToken("a", clk.Now().Add(time.Minute)))
	remove()
	add(t, l, revocation.ByToken("b", clk.Now().Add(time.Minute)))
	if n != 1 {
		t.Fatalf("hook ran %d times, want 1", n)
	}
}

func TestMemoryEntriesArePruned(t *testing.T) {
	clk := newFakeClock()
	l := newMemory(t, clk)
	for i := range 1000 {
		add(t, l, revocation.ByToken(fmt.Sprint(i), clk.Now().Add(30*time.Second)))
	}
	clk.Advance(2 * time.Minute)
	add(t, l, revocation.ByToken("last", clk.Now().Add(time.Minute)))
	if n := l.Stats().Entries; n != 1 {
		t.Fatalf("entries after the others expired = %d, want 1", n)
	}
	// An entry that has already expired is not even stored.
	add(t, l, revocation.ByToken("old", clk.Now().Add(-time.Second)))
	if n := l.Stats().Entries; n != 1 {
		t.Fatalf("an expired entry was stored: %d entries", n)
	}
}

func TestEntryValidation(t *testing.T) {
	now := time.Now()
	for name, e := range map[string]revocation.Entry{
		"unknown kind":        {Kind: "org", Value: "x", Until: now.Add(time.Hour)},
		"empty value":         {Kind: revocation.Token, Until: now.Add(time.Hour)},
		"zero until":          {Kind: revocation.Token, Value: "x"},
		"subject zero before": {Kind: revocation.Subject, Value: "x", Until: now.Add(time.Hour)},
		"client zero before":  {Kind: revocation.Client, Value: "x", Until: now.Add(time.Hour)},
		"line break":          {Kind: revocation.Token, Value: "a\nb", Until: now.Add(time.Hour)},
		"too long":            {Kind: revocation.Token, Value: string(make([]byte, revocation.MaxValueLen+1)), Until: now.Add(time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			l, _ := revocation.NewMemory()
			var ee *revocation.EntryError
			if err := l.Add(context.Background(), e); !errors.As(err, &ee) {
				t.Fatalf("Add = %v, want an *EntryError", err)
			}
		})
	}
}

func TestNewMemoryRejectsBadOptions(t *testing.T) {
	if _, err := revocation.NewMemory(revocation.WithClock(nil)); err == nil {
		t.Error("nil clock accepted")
	}
}

// The list as a verifier's revocation hook: a revoked token is refused on
// its next use, also when the verifier had it cached.
func TestVerifierRefusesRevokedTokens(t *testing.T) {
	iss := tokentest.NewIssuer(t)
	l, err := revocation.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	v := iss.Verifier(token.WithRevoker(l))
	l.OnRevoke(func(e revocation.Entry) {
		switch e.Kind {
		case revocation.Token:
			v.ForgetID(e.Value)
		case revocation.Subject:
			v.ForgetSubject(e.Value)
		}
	})
	ctx := context.Background()
	raw := iss.Token(token.Claims{Subject: "alice"})
	other := iss.Token(token.Claims{Subject: "bob"})
	c, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	add(t, l, revocation.ByToken(c.ID, c.ExpiresAt.Time().Add(token.DefaultLeeway)))
	if _, err := v.Verify(ctx, raw); !errors.Is(err, token.ErrRevoked) {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatalf("another token: %v", err)
	}
	now := time.Now()
	add(t, l, revocation.BySubject("bob", now, now.Add(time.Hour)))
	if _, err := v.Verify(ctx, other); !errors.Is(err, token.ErrRevoked) {
		t.Fatalf("token of a revoked subject: %v", err)
	}
}

// TestMemorySessionRevokesEveryTokenOfTheSession: a Session entry (RP-
// initiated logout) matches the sid whenever the token was issued, and
// nothing else.
func TestMemorySessionRevokesEveryTokenOfTheSession(t *testing.T) {
	clk := newFakeClock()
	l := newMemory(t, clk)
	until := clk.Now().Add(time.Hour)
	add(t, l, revocation.BySession("s1", until))
	later := token.At(clk.Now().Add(time.Minute))
	for name, c := range map[string]struct {
		claims token.Claims
		want   bool
	}{
		"token of the session":                {token.Claims{ID: "j1", Subject: "alice", SessionID: "s1"}, true},
		"issued after the entry":              {token.Claims{ID: "j2", Subject: "alice", SessionID: "s1", IssuedAt: later}, true},
		"another session of the same user":    {token.Claims{ID: "j3", Subject: "alice", SessionID: "s2"}, false},
		"no sid":                              {token.Claims{ID: "j4", Subject: "alice"}, false},
		"a jti equal to the sid is not a sid": {token.Claims{ID: "s1", Subject: "alice"}, false},
	} {
		if got := revoked(t, l, &c.claims); got != c.want {
			t.Errorf("%s: revoked %v, want %v", name, got, c.want)
		}
	}
	clk.Advance(time.Hour)
	if revoked(t, l, &token.Claims{SessionID: "s1"}) {
		t.Error("the session entry outlived its Until")
	}
}
