package authserver_test

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/revocation"
)

// countingClientStore counts the reads of a client for a secret check.
type countingClientStore struct {
	identity.Store
	reads atomic.Int64
}

func (s *countingClientStore) ClientByID(ctx context.Context, id string) (*identity.Client, error) {
	s.reads.Add(1)
	return s.Store.ClientByID(ctx, id)
}

func clientCredentials(t *testing.T, e *env, id, secret string) int {
	t.Helper()
	status, _ := post(t, e, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, id, secret)
	return status
}

// A service asking for tokens all day reads its client from the store once
// per cache lifetime, not on every request.
func TestClientCacheSavesStoreReads(t *testing.T) {
	base := newEnv(t)
	st := &countingClientStore{Store: base.store}
	e := startOn(t, st)
	for i := range 20 {
		if status := clientCredentials(t, e, "svc", svcSecret); status != http.StatusOK {
			t.Fatalf("grant %d: %d", i, status)
		}
	}
	if n := st.reads.Load(); n < 1 || n > 3 {
		t.Errorf("20 grants within about a second read the client %d times, want 1 (or a few, on a slow machine)", n)
	}
}

// A wrong secret, a new secret and a client created after an unknown id
// are decided on the store, as without the cache.
func TestClientCacheAnswersOnlyTheVerifiedSecret(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if status := clientCredentials(t, e, "svc", svcSecret); status != http.StatusOK {
		t.Fatalf("grant: %d", status)
	}
	if status := clientCredentials(t, e, "svc", "wrong-secret-0123456789"); status != http.StatusUnauthorized {
		t.Fatalf("a wrong secret with the client cached: %d, want 401", status)
	}
	c, err := e.store.ClientByID(ctx, "svc")
	if err != nil {
		t.Fatal(err)
	}
	const newSecret = "svc-new-secret-0123456789"
	c.SecretHash = mustHash(t, newSecret)
	if err := e.store.PutClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	if status := clientCredentials(t, e, "svc", newSecret); status != http.StatusOK {
		t.Fatalf("the new secret right after the change: %d, want 200", status)
	}
	if status := clientCredentials(t, e, "svc", svcSecret); status != http.StatusUnauthorized {
		t.Fatalf("the old secret after the new one was used: %d, want 401", status)
	}

	if status := clientCredentials(t, e, "late", "late-secret-0123456789"); status != http.StatusUnauthorized {
		t.Fatalf("an unknown client: %d, want 401", status)
	}
	if err := e.store.CreateClient(ctx, &identity.Client{ID: "late", SecretHash: mustHash(t, "late-secret-0123456789"),
		Grants: []string{identity.GrantClientCredentials}}); err != nil {
		t.Fatal(err)
	}
	if status := clientCredentials(t, e, "late", "late-secret-0123456789"); status != http.StatusOK {
		t.Fatalf("a client created after its id was refused: %d, want 200", status)
	}
}

// 'gatehouse client delete' deletes the client and adds a revocation of its
// tokens: once the revocation reaches the deny list, the client is
// refused at once; without it, once the cached entry has lived (a second).
func TestClientCacheForgetsADeletedClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if status := clientCredentials(t, e, "svc", svcSecret); status != http.StatusOK {
		t.Fatalf("grant: %d", status)
	}
	if err := e.store.DeleteClient(ctx, "svc"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := e.srv.DenyList().Add(ctx, revocation.ByClient("svc", now, now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if status := clientCredentials(t, e, "svc", svcSecret); status != http.StatusUnauthorized {
		t.Fatalf("a deleted and revoked client: %d, want 401", status)
	}

	if status := clientCredentials(t, e, "cli", cliSecret); status == http.StatusUnauthorized {
		t.Fatalf("cli: %d", status)
	}
	if err := e.store.DeleteClient(ctx, "cli"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second + 100*time.Millisecond) // the cache lifetime
	if status := clientCredentials(t, e, "cli", cliSecret); status != http.StatusUnauthorized {
		t.Fatalf("a deleted client a second later: %d, want 401", status)
	}
}
