package authserver_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/redistest"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/revocation/redislist"
	"github.com/gatehousehq/gatehouse/token"
)

// lossy is a publisher whose shared list can lose its data, as a Redis
// that restarts without persistence does: the list is replaced by an
// empty one and the resync count moves.
type lossy struct {
	mu      sync.Mutex
	list    *revocation.List
	down    atomic.Bool
	resyncs atomic.Uint64
}

func (l *lossy) current() *revocation.List {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.list
}

func (l *lossy) Add(ctx context.Context, e revocation.Entry) error {
	if l.down.Load() {
		return revocation.ErrUnavailable
	}
	return l.current().Add(ctx, e)
}

func (l *lossy) Stats() revocation.Stats {
	s := l.current().Stats()
	s.Synced, s.Resyncs = !l.down.Load(), l.resyncs.Load()
	return s
}

func (l *lossy) restart(t *testing.T) {
	l.mu.Lock()
	l.list = memoryList(t)
	l.mu.Unlock()
	l.resyncs.Add(1)
}

func storeTokenRevocation(t *testing.T, st identity.Store, jti string) *token.Claims {
	t.Helper()
	if err := st.AddRevocation(context.Background(), identity.Revocation{Kind: identity.RevokeToken, Value: jti, Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return &token.Claims{ID: jti, Subject: "x", IssuedAt: token.At(time.Now())}
}

// Stored revocations that could not be published at start are published
// by a later reload once the publisher is back.
func TestReloadRepublishesAfterAFailedStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := storeTokenRevocation(t, e.store, "before-start")
	pub := &lossy{list: memoryList(t)}
	pub.down.Store(true)
	srv := startOn(t, e.store, func(cfg *authserver.Config) { cfg.Revocations = pub }).srv
	ctx := context.Background()
	if err := srv.Reload(ctx); err != nil { // still down: nothing, no wait
		t.Fatal(err)
	}
	pub.down.Store(false)
	if err := srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if !listRevokes(t, pub.current(), c) {
		t.Fatal("a stored revocation is not published by a reload after the failed start")
	}
}

// After the shared list lost its data (a resync), a reload publishes the
// stored revocations again; without a resync it publishes nothing.
func TestReloadRepublishesAfterTheSharedListLostItsData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := storeTokenRevocation(t, e.store, "before-loss")
	pub := &lossy{list: memoryList(t)}
	srv := startOn(t, e.store, func(cfg *authserver.Config) { cfg.Revocations = pub }).srv
	ctx := context.Background()
	if !listRevokes(t, pub.current(), c) {
		t.Fatal("not published at start")
	}
	pub.mu.Lock()
	pub.list = memoryList(t) // lost, without a resync: not noticed
	pub.mu.Unlock()
	if err := srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if listRevokes(t, pub.current(), c) {
		t.Fatal("republished without a failure or a resync")
	}
	pub.restart(t)
	if err := srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if !listRevokes(t, pub.current(), c) {
		t.Fatal("a stored revocation is not published again after the shared list lost its data")
	}
}

// On Redis: after the deny list's keys are lost and the subscription made
// again (a restart without persistence), a reload puts the stored entries
// back, and a process that starts later gets them.
func TestReloadRepublishesToARedisThatLostItsData(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	newList := func(name string) *revocation.List {
		l, err := redislist.New(redistest.Client(t, name), redislist.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.WaitSynced(ctx); err != nil {
			t.Fatal(err)
		}
		return l
	}
	e := newEnv(t)
	c := storeTokenRevocation(t, e.store, "before-redis-loss")
	name := "republish-" + prefix
	list := newList(name)
	srv := startOn(t, e.store, func(cfg *authserver.Config) { cfg.Revocations = list }).srv
	admin := redistest.Client(t, "republish-admin")
	ctx := context.Background()
	for _, pattern := range []string{prefix + "*", "{" + prefix + "*"} {
		keys, err := admin.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			admin.Del(ctx, k)
		}
	}
	before := list.Stats().Resyncs
	if redistest.KillPubSub(t, admin, name) == 0 {
		t.Fatal("no subscription to kill")
	}
	redistest.Eventually(t, 5*time.Second, "the list resyncs", func() bool {
		s := list.Stats()
		return s.Synced && s.Resyncs > before
	})
	if err := srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if !listRevokes(t, newList("republish-late-"+prefix), c) {
		t.Fatal("a process started after Redis lost its data does not get the stored revocation")
	}
}

// A revocation made while the auth server could not reach Redis (the
// endpoint answers 503, the entry is stored) is published as soon as the
// auth server's subscription resyncs after Redis returns, empty: a
// service on the same Redis refuses the token right after, without
// waiting for the auth server's next reload (an hour here).
func TestRevocationStoredDuringARedisOutageIsPublishedWhenRedisReturns(t *testing.T) {
	t.Parallel()
	prefix := redistest.Prefix(t)
	proxy := redistest.NewProxy(t)
	authList, err := redislist.New(redistest.ClientVia(t, "outage-auth-"+prefix, proxy.Addr()), redislist.WithPrefix(prefix),
		redislist.WithTimeout(300*time.Millisecond), redislist.WithHealthCheck(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { authList.Close() })
	service, err := redislist.New(redistest.Client(t, "outage-service-"+prefix), redislist.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { service.Close() })
	ctx := context.Background()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := errors.Join(authList.WaitSynced(wctx), service.WaitSynced(wctx)); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *authserver.Config) { c.Revocations = authList; c.KeyReload = time.Hour })
	tok := aliceToken(t, e)
	c := claimsOf(t, e, tok.AccessToken)

	proxy.Cut() // the auth server loses Redis
	if status, _ := post(t, e, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "cli", cliSecret); status != http.StatusServiceUnavailable {
		t.Fatalf("revoke while Redis is unreachable: %d, want 503", status)
	}
	if introspect(t, e, tok.AccessToken) {
		t.Fatal("the auth server itself still accepts the token it stored as revoked")
	}
	// Redis comes back without its data.
	admin := redistest.Client(t, "outage-admin-"+prefix)
	for _, pattern := range []string{prefix + "*", "{" + prefix + "*"} {
		keys, err := admin.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			admin.Del(ctx, k)
		}
	}
	if listRevokes(t, service, c) {
		t.Fatal("the service knew of the revocation before Redis returned")
	}
	proxy.Restore()
	took := redistest.Eventually(t, 10*time.Second, "the service refuses the token after Redis returned", func() bool { return listRevokes(t, service, c) })
	t.Logf("refused by the service %s after Redis returned (no reload of the auth server)", took)
}
