package redislist_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/redistest"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/revocation/redislist"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// newRedisList returns a synced Redis list on client, as one process holds
// it.
func newRedisList(t testing.TB, client redis.UniversalClient, prefix string, opts ...redislist.Option) *revocation.List {
	t.Helper()
	l, err := redislist.New(client, append([]redislist.Option{redislist.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.WaitSynced(ctx); err != nil {
		t.Fatalf("list did not sync: %v", err)
	}
	return l
}

func revoked(t testing.TB, l *revocation.List, c *token.Claims) bool {
	t.Helper()
	r, err := l.Revoked(context.Background(), c)
	if err != nil {
		t.Fatalf("Revoked: %v", err)
	}
	return r
}

func claims(jti, sub, client string, iat time.Time) *token.Claims {
	return &token.Claims{ID: jti, Subject: sub, ClientID: client, IssuedAt: token.At(iat)}
}

// Two processes (two clients, two subscriptions) see each other's entries
// within one second, both ways, for each kind.
func TestRedisTwoInstancesSeeEachOther(t *testing.T) {
	prefix := redistest.Prefix(t)
	a := newRedisList(t, redistest.Client(t, "rev-a"), prefix)
	b := newRedisList(t, redistest.Client(t, "rev-b"), prefix)
	ctx := context.Background()
	now := time.Now()
	issued := now.Add(-time.Minute)

	tests := []struct {
		name     string
		from, to *revocation.List
		entry    revocation.Entry
		claims   *token.Claims
	}{
		{"jti a to b", a, b, revocation.ByToken("t-1", now.Add(time.Hour)), claims("t-1", "x", "", issued)},
		{"sub b to a", b, a, revocation.BySubject("alice", now, now.Add(time.Hour)), claims("t-2", "alice", "", issued)},
		{"client a to b", a, b, revocation.ByClient("batch", now, now.Add(time.Hour)), claims("t-3", "svc", "batch", issued)},
		{"session b to a", b, a, revocation.BySession("sess-1", now.Add(time.Hour)), &token.Claims{ID: "t-4", Subject: "bob", SessionID: "sess-1", IssuedAt: token.At(now.Add(time.Minute))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if revoked(t, tt.to, tt.claims) {
				t.Fatal("revoked before the entry was added")
			}
			if err := tt.from.Add(ctx, tt.entry); err != nil {
				t.Fatal(err)
			}
			if !revoked(t, tt.from, tt.claims) {
				t.Fatal("the adding process does not revoke at once")
			}
			took := redistest.Eventually(t, time.Second, "the other process revokes", func() bool { return revoked(t, tt.to, tt.claims) })
			t.Logf("seen by the other process after %s", took)
		})
	}
	// A token issued after a subject revocation is not revoked.
	if revoked(t, b, claims("t-4", "alice", "", now.Add(2*time.Second))) {
		t.Fatal("a token issued after the subject revocation is revoked")
	}
	if s := b.Stats(); s.Received < 2 || !s.Synced || s.Published != 2 {
		t.Fatalf("b stats %+v", s)
	}
}

// A process that starts later loads the whole list before it is synced.
func TestRedisNewInstanceLoadsTheList(t *testing.T) {
	prefix := redistest.Prefix(t)
	a := newRedisList(t, redistest.Client(t, "rev-a"), prefix)
	ctx := context.Background()
	now := time.Now()
	for i := range 50 {
		if err := a.Add(ctx, revocation.ByToken("t-"+strconv.Itoa(i), now.Add(time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	// An expired entry is dropped by the resync, not loaded.
	if err := a.Add(ctx, revocation.ByToken("short", now.Add(300*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	c := newRedisList(t, redistest.Client(t, "rev-c"), prefix)
	if n := len(c.Entries()); n != 50 {
		t.Fatalf("new instance holds %d entries, want 50", n)
	}
	if !revoked(t, c, claims("t-49", "x", "", now)) {
		t.Fatal("t-49 not revoked in the new instance")
	}
}

// Entries of one subject added by two processes merge into the later
// IssuedBefore and the later Until, in Redis and in both processes.
func TestRedisMergeAcrossInstances(t *testing.T) {
	prefix := redistest.Prefix(t)
	a := newRedisList(t, redistest.Client(t, "rev-a"), prefix)
	b := newRedisList(t, redistest.Client(t, "rev-b"), prefix)
	ctx := context.Background()
	base := time.Now().Truncate(time.Millisecond)
	if err := a.Add(ctx, revocation.BySubject("alice", base.Add(time.Second), base.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := b.Add(ctx, revocation.BySubject("alice", base, base.Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	want := revocation.BySubject("alice", base.Add(time.Second).UTC(), base.Add(2*time.Hour).UTC())
	for name, l := range map[string]*revocation.List{"a": a, "b": b} {
		redistest.Eventually(t, time.Second, name+" holds the merged entry", func() bool {
			es := l.Entries()
			return len(es) == 1 && es[0].IssuedBefore.Equal(want.IssuedBefore) && es[0].Until.Equal(want.Until)
		})
	}
}

// A subscriber whose connection is killed misses what is published
// meanwhile; it reloads the full list before it answers as synced again.
// The kill and the write run in one MULTI, so the message certainly goes
// out while the subscriber is disconnected.
func TestRedisResyncAfterSubscriptionKilled(t *testing.T) {
	prefix := redistest.Prefix(t)
	admin := redistest.Client(t, "rev-admin")
	b := newRedisList(t, redistest.Client(t, "rev-b"), prefix)
	// OnResync runs after each resync, once the entries from Redis are in.
	var resyncs atomic.Int32
	var sawMissed atomic.Bool
	b.OnResync(func() {
		resyncs.Add(1)
		if r, _ := b.Revoked(context.Background(), claims("missed", "x", "", time.Now())); r {
			sawMissed.Store(true)
		}
	})
	id := redistest.PubSubID(t, admin, "rev-b")
	if id == "" {
		t.Fatal("no subscription connection of rev-b")
	}
	ctx := context.Background()
	until := time.Now().Add(time.Hour).UnixMilli()
	val := "0 " + strconv.FormatInt(until, 10)
	tag := "{" + prefix + "}"
	cmds, err := admin.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "CLIENT", "KILL", "ID", id)
		p.HSet(ctx, tag+":entries", "jti:missed", val)
		p.ZAdd(ctx, tag+":expiry", redis.Z{Score: float64(until), Member: "jti:missed"})
		p.Publish(ctx, prefix+":events", val+" jti:missed")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := cmds[3].(*redis.IntCmd).Val(); n != 0 {
		t.Fatalf("the message reached %d subscribers; the test needs it to reach none", n)
	}
	c := claims("missed", "x", "", time.Now())
	// Until the resync, the list must not answer "not revoked".
	took := redistest.Eventually(t, 3*time.Second, "b revokes the entry it missed", func() bool {
		r, err := b.Revoked(ctx, c)
		if err != nil && !errors.Is(err, revocation.ErrUnavailable) {
			t.Fatalf("Revoked: %v", err)
		}
		if err == nil && !r && b.Stats().Resyncs >= 2 {
			t.Fatal("b answered not revoked after its resync")
		}
		return r
	})
	t.Logf("b revoked the missed entry after %s", took)
	if s := b.Stats(); s.Resyncs < 2 || s.Losses < 1 {
		t.Fatalf("stats %+v: want a loss and a second sync", s)
	}
	if resyncs.Load() < 1 || !sawMissed.Load() {
		t.Fatalf("OnResync ran %d times, saw the resynced entry: %v", resyncs.Load(), sawMissed.Load())
	}
}

// A malformed message or stored entry (another version, a hand-written
// HSET) is skipped; the list goes on working.
func TestRedisMalformedInputIsSkipped(t *testing.T) {
	prefix := redistest.Prefix(t)
	admin := redistest.Client(t, "rev-admin")
	ctx := context.Background()
	tag := "{" + prefix + "}"
	if err := admin.HSet(ctx, tag+":entries", "nonsense", "x y", "jti:ok", "0 "+strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)).Err(); err != nil {
		t.Fatal(err)
	}
	b := newRedisList(t, redistest.Client(t, "rev-b"), prefix)
	if !revoked(t, b, claims("ok", "x", "", time.Now())) {
		t.Fatal("the well-formed stored entry was not loaded")
	}
	for _, payload := range []string{"", "garbage", "1 2", "a b jti:x", "0 1 bogus:x", "0 99999999999999 jti:"} {
		if err := admin.Publish(ctx, prefix+":events", payload).Err(); err != nil {
			t.Fatal(err)
		}
	}
	a := newRedisList(t, redistest.Client(t, "rev-a"), prefix)
	if err := a.Add(ctx, revocation.ByToken("after", time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	redistest.Eventually(t, time.Second, "b still receives entries", func() bool { return revoked(t, b, claims("after", "x", "", time.Now())) })
	if n := len(b.Entries()); n != 2 {
		t.Fatalf("b holds %d entries, want 2", n)
	}
}

// Fault tests: the list of process B talks to Redis through a proxy that
// the test cuts (connections closed, new ones refused) or turns into a
// black hole (nothing answers). Each case checks the documented policy,
// that no call hangs past the configured timeout, and that B resyncs and
// serves again when Redis returns, including what was revoked meanwhile.
func TestRedisFaultPolicy(t *testing.T) {
	const timeout = 200 * time.Millisecond
	// bound is generous: it fails on a hang, not on a slow machine.
	const bound = 10 * timeout
	tests := []struct {
		name  string
		mode  revocation.FailureMode
		fault func(*redistest.Proxy)
	}{
		{"closed/cut", revocation.FailClosed, (*redistest.Proxy).Cut},
		{"closed/blackhole", revocation.FailClosed, (*redistest.Proxy).Blackhole},
		{"open/cut", revocation.FailOpen, (*redistest.Proxy).Cut},
		{"open/blackhole", revocation.FailOpen, (*redistest.Proxy).Blackhole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prefix := redistest.Prefix(t)
			proxy := redistest.NewProxy(t)
			a := newRedisList(t, redistest.Client(t, "rev-a"), prefix)
			b := newRedisList(t, redistest.ClientVia(t, "rev-b", proxy.Addr()), prefix,
				redislist.WithFailureMode(tt.mode), redislist.WithTimeout(timeout), redislist.WithHealthCheck(timeout),
				redislist.WithLogger(slog.New(slog.DiscardHandler)))
			ctx := context.Background()
			iss := tokentest.NewIssuer(t)
			v := iss.Verifier(token.WithRevoker(b))
			g, err := guard.New(v, guard.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
			defer srv.Close()
			status := func(raw string) int {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				req.Header.Set("Authorization", "Bearer "+raw)
				start := time.Now()
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if d := time.Since(start); d > bound {
					t.Fatalf("a request took %s with Redis unreachable", d)
				}
				return resp.StatusCode
			}

			known := iss.Token(token.Claims{Subject: "mallory"})
			fine := iss.Token(token.Claims{Subject: "alice"})
			later := iss.Token(token.Claims{Subject: "bob"})
			now := time.Now()
			if err := a.Add(ctx, revocation.BySubject("mallory", now.Add(time.Second), now.Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			redistest.Eventually(t, time.Second, "b has mallory", func() bool { return status(known) == http.StatusUnauthorized })
			if got := status(fine); got != http.StatusOK {
				t.Fatalf("healthy: alice answered %d", got)
			}

			tt.fault(proxy)
			took := redistest.Eventually(t, bound, "b notices the loss", func() bool { return !b.Stats().Synced })
			t.Logf("loss noticed after %s", took)

			// Revoked while B is cut off: B cannot know.
			if err := a.Add(ctx, revocation.BySubject("bob", time.Now().Add(time.Second), time.Now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			// What B knew stays revoked in both modes.
			if got := status(known); got != http.StatusUnauthorized {
				t.Fatalf("outage: a token B knows is revoked answered %d, want 401", got)
			}
			switch tt.mode {
			case revocation.FailClosed:
				for _, raw := range []string{fine, later} {
					if got := status(raw); got != http.StatusServiceUnavailable {
						t.Fatalf("fail closed: answered %d, want 503", got)
					}
				}
				if _, err := b.Revoked(ctx, claims("x", "alice", "", now)); !errors.Is(err, revocation.ErrUnavailable) {
					t.Fatalf("fail closed: Revoked = %v, want ErrUnavailable", err)
				}
			case revocation.FailOpen:
				for _, raw := range []string{fine, later} { // later passes: the documented cost of FailOpen
					if got := status(raw); got != http.StatusOK {
						t.Fatalf("fail open: answered %d, want 200", got)
					}
				}
			}

			// Add with Redis unreachable: applies here, says the others do
			// not have it, within the timeout.
			start := time.Now()
			err = b.Add(ctx, revocation.ByToken("local-only", time.Now().Add(time.Hour)))
			if !errors.Is(err, revocation.ErrUnavailable) {
				t.Fatalf("Add during the outage = %v, want ErrUnavailable", err)
			}
			if d := time.Since(start); d > bound {
				t.Fatalf("Add took %s, past the timeout %s", d, timeout)
			}
			if !revoked(t, b, claims("local-only", "x", "", now)) {
				t.Fatal("an Add that failed to publish does not apply locally")
			}

			proxy.Restore()
			took = redistest.Eventually(t, 5*time.Second, "b resyncs", func() bool { return b.Stats().Synced })
			t.Logf("resynced %s after the network came back", took)
			if got := status(later); got != http.StatusUnauthorized {
				t.Fatalf("after the resync, the token revoked during the outage answered %d, want 401", got)
			}
			if got := status(fine); got != http.StatusOK {
				t.Fatalf("after the resync, alice answered %d, want 200", got)
			}
			// And pushes work again.
			if err := a.Add(ctx, revocation.ByToken("after", time.Now().Add(time.Hour))); err != nil {
				t.Fatal(err)
			}
			redistest.Eventually(t, time.Second, "b receives pushes again", func() bool { return revoked(t, b, claims("after", "x", "", now)) })
		})
	}
}

// Redis down from the start: a fail-closed list refuses to answer, and
// Add fails fast.
func TestRedisUnreachableAtStart(t *testing.T) {
	l, err := redislist.New(redistest.Unreachable(t), redislist.WithTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	if _, err := l.Revoked(ctx, claims("x", "alice", "", time.Now())); !errors.Is(err, revocation.ErrUnavailable) {
		t.Fatalf("Revoked = %v, want ErrUnavailable", err)
	}
	start := time.Now()
	if err := l.Add(ctx, revocation.ByToken("x", time.Now().Add(time.Hour))); !errors.Is(err, revocation.ErrUnavailable) {
		t.Fatalf("Add = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Add took %s", d)
	}
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := l.WaitSynced(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitSynced = %v", err)
	}
	if s := l.Stats(); s.Synced || s.Unavailable != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// ForgetIn drops revoked tokens from the verifier's cache when the entry
// comes from another process.
func TestForgetInAcrossInstances(t *testing.T) {
	prefix := redistest.Prefix(t)
	a := newRedisList(t, redistest.Client(t, "rev-a"), prefix)
	b := newRedisList(t, redistest.Client(t, "rev-b"), prefix)
	iss := tokentest.NewIssuer(t)
	v := iss.Verifier(token.WithRevoker(b), token.WithCacheSize(100))
	forgot := make(chan revocation.Entry, 4)
	defer revocation.ForgetIn(b, v)()
	defer b.OnRevoke(func(e revocation.Entry) { forgot <- e })()
	ctx := context.Background()
	raw := iss.Token(token.Claims{Subject: "alice"})
	c, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Add(ctx, revocation.ByToken(c.ID, c.ExpiresAt.Time())); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-forgot:
		if e.Value != c.ID {
			t.Fatalf("hook got %q", e.Value)
		}
	case <-time.After(time.Second):
		t.Fatal("no hook call within 1s")
	}
	if _, err := v.Verify(ctx, raw); !errors.Is(err, token.ErrRevoked) {
		t.Fatalf("Verify after revocation = %v", err)
	}
}
