package authserver

import (
	"strconv"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/revocation"
)

// An entry answers for clientCacheTTL; a read that was in flight when a
// client was forgotten is not cached; only client revocations forget.
func TestClientCacheEntries(t *testing.T) {
	cc := newClientCache()
	now := time.Unix(1_000_000, 0)
	svc := &identity.Client{ID: "svc", SecretHash: "h"}
	_, gen := cc.get("svc", now)
	cc.put(svc, gen, now)
	if c, _ := cc.get("svc", now.Add(clientCacheTTL-time.Millisecond)); c != svc {
		t.Fatal("no entry within its lifetime")
	}
	if c, _ := cc.get("svc", now.Add(clientCacheTTL)); c != nil {
		t.Fatal("an entry past its lifetime")
	}

	_, gen = cc.get("svc", now)
	cc.forgetRevoked(revocation.ByClient("svc", now, now.Add(time.Hour)))
	cc.put(svc, gen, now) // read before the revocation
	if c, _ := cc.get("svc", now); c != nil {
		t.Fatal("a read from before a revocation was cached")
	}

	_, gen = cc.get("svc", now)
	cc.put(svc, gen, now)
	cc.forgetRevoked(revocation.BySubject("svc", now, now.Add(time.Hour)))
	cc.forgetRevoked(revocation.ByToken("svc", now.Add(time.Hour)))
	if c, _ := cc.get("svc", now); c != svc {
		t.Fatal("a revocation of another kind forgot the client")
	}
	cc.forgetRevoked(revocation.ByClient("svc", now, now.Add(time.Hour)))
	if c, _ := cc.get("svc", now); c != nil {
		t.Fatal("a client revocation did not forget the client")
	}
}

func TestClientCacheBound(t *testing.T) {
	cc := newClientCache()
	now := time.Unix(1_000_000, 0)
	for i := range maxCachedClients + 1 {
		_, gen := cc.get("", now)
		cc.put(&identity.Client{ID: strconv.Itoa(i)}, gen, now)
	}
	if n := len(cc.entries); n > maxCachedClients {
		t.Fatalf("%d entries, bound %d", n, maxCachedClients)
	}
}
