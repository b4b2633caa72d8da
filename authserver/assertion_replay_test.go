package authserver_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/authserver/redisjti"
	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// replayStore returns a redisjti store on client under a prefix of the
// test's own.
func replayStore(t *testing.T, client redis.UniversalClient, prefix string) *redisjti.Store {
	t.Helper()
	rs, err := redisjti.New(client, redisjti.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// Two auth server instances of one issuer, each with its own Redis client
// (as two processes have) on the same Redis: an assertion accepted by one
// is refused by the other, and by itself.
func TestAssertionReplayAcrossInstances(t *testing.T) {
	prefix := redistest.Prefix(t)
	e1 := newEnv(t, func(c *authserver.Config) {
		c.AssertionReplay = replayStore(t, redistest.Client(t, "authserver-1"), prefix)
	})
	key := jwtClient(t, e1)
	e2 := startOn(t, e1.store, func(c *authserver.Config) {
		c.Issuer = e1.url // behind one name, as a load balancer serves them
		c.AssertionReplay = replayStore(t, redistest.Client(t, "authserver-2"), prefix)
	})

	a := assertionForm(assertion(t, key, e1.url))
	if status, body := post(t, e1, "/oauth2/token", a, "", ""); status != http.StatusOK {
		t.Fatalf("first use on instance 1: %d %v", status, body)
	}
	if status, body := post(t, e2, "/oauth2/token", a, "", ""); status != http.StatusBadRequest || body["error"] != "invalid_client" {
		t.Fatalf("the same assertion on instance 2: %d %v, want 400 invalid_client", status, body)
	}
	if status, body := post(t, e1, "/oauth2/token", a, "", ""); status != http.StatusBadRequest || body["error"] != "invalid_client" {
		t.Fatalf("the same assertion again on instance 1: %d %v, want 400 invalid_client", status, body)
	}
	// A fresh assertion is accepted by either.
	if status, body := post(t, e2, "/oauth2/token", assertionForm(assertion(t, key, e1.url)), "", ""); status != http.StatusOK {
		t.Fatalf("a fresh assertion on instance 2: %d %v", status, body)
	}
}

// While Redis is unreachable, private_key_jwt fails closed with 503
// temporarily_unavailable, client secrets still work, and the assertion
// refused meanwhile is accepted once Redis is back (it was not spent).
func TestAssertionReplayFailsClosed(t *testing.T) {
	prefix := redistest.Prefix(t)
	proxy := redistest.NewProxy(t)
	e := newEnv(t, func(c *authserver.Config) {
		c.AssertionReplay = replayStore(t, redistest.ClientVia(t, "authserver-cut", proxy.Addr()), prefix)
	})
	key := jwtClient(t, e)
	a := assertionForm(assertion(t, key, e.url))

	proxy.Cut()
	if status, body := post(t, e, "/oauth2/token", a, "", ""); status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
		t.Fatalf("private_key_jwt without Redis: %d %v, want 503 temporarily_unavailable", status, body)
	}
	secret := url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts:read"}}
	if status, body := post(t, e, "/oauth2/token", secret, "svc", svcSecret); status != http.StatusOK {
		t.Fatalf("client_secret_basic without Redis: %d %v", status, body)
	}

	proxy.Restore()
	redistest.Eventually(t, 5*time.Second, "the assertion is accepted once Redis is back", func() bool {
		status, _ := post(t, e, "/oauth2/token", a, "", "")
		return status == http.StatusOK
	})
	if status, body := post(t, e, "/oauth2/token", a, "", ""); status != http.StatusBadRequest || body["error"] != "invalid_client" {
		t.Fatalf("replayed after Redis came back: %d %v, want 400 invalid_client", status, body)
	}
}
