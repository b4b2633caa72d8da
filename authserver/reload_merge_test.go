package authserver_test

import (
	"context"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
)

// hookStore runs hook once, after a reload's ListRevocations has read the
// store and before the reload applies what it read.
type hookStore struct {
	identity.Store
	hook func()
}

func (h *hookStore) ListRevocations(ctx context.Context, now time.Time) ([]identity.Revocation, error) {
	revs, err := h.Store.ListRevocations(ctx, now)
	if f := h.hook; f != nil {
		h.hook = nil
		f()
	}
	return revs, err
}

// A revocation made while a reload is in flight stays in the server's own
// deny list (its verifier serves introspection, userinfo and exchange).
func TestReloadKeepsRevocationMadeDuringIt(t *testing.T) {
	e := newEnv(t)
	hs := &hookStore{Store: e.store}
	srv := startOn(t, hs).srv
	ctx := context.Background()
	c := &token.Claims{ID: "x", Subject: e.alice.ID, IssuedAt: token.At(time.Now().Add(-time.Minute))}
	hs.hook = func() {
		if err := srv.RevokeSubject(ctx, e.alice.ID); err != nil {
			t.Error(err)
		}
	}
	if err := srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := srv.Revoked(ctx, c); !r {
		t.Fatal("the subject revocation made during a reload is lost")
	}
}

// Entries learnt only from the publisher survive reloads until their Until.
func TestReloadKeepsPublishedEntriesUntilTheyExpire(t *testing.T) {
	list := memoryList(t)
	var skew atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := newEnv(t, func(c *authserver.Config) { c.Revocations = list; c.Now = clock })
	ctx := context.Background()
	start := time.Now()
	c := &token.Claims{ID: "y", Subject: "carol", ClientID: "other", IssuedAt: token.At(start.Add(-time.Minute))}
	for _, en := range []revocation.Entry{
		{Kind: revocation.Subject, Value: "carol", IssuedBefore: start, Until: start.Add(time.Hour)},
		{Kind: revocation.Token, Value: "z", Until: start.Add(time.Hour)},
	} {
		if err := list.Add(ctx, en); err != nil {
			t.Fatal(err)
		}
	}
	z := &token.Claims{ID: "z", Subject: "dan", IssuedAt: token.At(start)}
	if err := e.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.srv.Revoked(ctx, c); !r {
		t.Fatal("a subject entry received from the publisher is dropped by a reload")
	}
	if r, _ := e.srv.Revoked(ctx, z); !r {
		t.Fatal("a token entry received from the publisher is dropped by a reload")
	}
	skew.Store(int64(2 * time.Hour))
	if err := e.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.srv.Revoked(ctx, c); r {
		t.Fatal("an expired subject entry is kept after a reload")
	}
	if r, _ := e.srv.Revoked(ctx, z); r {
		t.Fatal("an expired token entry is kept after a reload")
	}
}

// TestSharedDenyList: the list given as Config.DenyList is the server's
// deny list. What the server revokes is on it at once (a gateway or guard
// of the same process checking it refuses the token), and what the store
// holds (a client revoked by another instance) is loaded into it and
// refused by the server too.
func TestSharedDenyList(t *testing.T) {
	shared := memoryList(t)
	e := newEnv(t, func(c *authserver.Config) { c.DenyList = shared })
	ctx := context.Background()
	if e.srv.DenyList() != shared {
		t.Fatal("DenyList() is not the configured list")
	}
	tok := aliceToken(t, e)
	c := claimsOf(t, e, tok.AccessToken)
	if status, _ := post(t, e, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "cli", cliSecret); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	if !listRevokes(t, shared, c) {
		t.Fatal("a revocation at the server is not on the shared list at once")
	}

	// A client revocation stored by another instance: the next reload puts
	// it on the list, and the server refuses the client's tokens.
	svc := clientToken(t, e)
	now := time.Now()
	if err := e.store.AddRevocation(ctx, identity.Revocation{Kind: identity.RevokeClient, Value: "svc", IssuedBefore: now, Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if !introspect(t, e, svc) {
		t.Fatal("revoked before the reload")
	}
	if err := e.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if introspect(t, e, svc) {
		t.Error("the stored client revocation is not applied by the server")
	}
	if r, _ := shared.Revoked(ctx, &token.Claims{ClientID: "svc", IssuedAt: token.At(now.Add(-time.Second))}); !r {
		t.Error("the stored client revocation is not on the shared list")
	}
	// Another client's tokens are untouched.
	if !introspect(t, e, aliceToken(t, e).AccessToken) {
		t.Error("a client revocation revoked another client's token")
	}
}

// clientToken is a client_credentials token of svc.
func clientToken(t testing.TB, e *env) string {
	t.Helper()
	status, body := post(t, e, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts:read"}}, "svc", svcSecret)
	if status != 200 {
		t.Fatalf("client credentials: %d %v", status, body)
	}
	return body["access_token"].(string)
}
