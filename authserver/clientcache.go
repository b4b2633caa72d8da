package authserver

import (
	"context"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/revocation"
)

// The client cache keeps the confidential clients read for a client_secret
// authentication (with their secret hashes, in this process only) for
// clientCacheTTL, so that a service asking for tokens all day does not read
// its client from the store on every request. What it changes, and what it
// does not:
//
//   - It answers only a request that presents the secret the secret cache
//     (secretcache.go) verified against the cached hash. Any other request
//     (another secret, a changed one, a guess, a public client, an unknown
//     id) reads the store as it would without the cache, and goes through
//     every step of checkClientSecret: a new secret works at once, and a
//     new client too (unknown ids are not cached).
//   - A client deleted or changed in the store by another process
//     ('gatehouse client delete', another auth server instance) is seen at
//     most clientCacheTTL later: the one second within which revocations
//     reach every process.
//   - A revocation of the client's tokens that reaches the deny list drops
//     its entry at once: 'gatehouse client delete' and 'gatehouse token
//     revoke --client' add one, which the server applies when it is made
//     here, when it arrives through Redis, or at the next reload.
//
// private_key_jwt reads its client from the store every time
// (assertion.go): keys just removed must not linger.

// clientCacheTTL is how long a cached client answers.
const clientCacheTTL = time.Second

// maxCachedClients bounds the cache; past it, it starts again empty.
const maxCachedClients = 10000

// clientCache is safe for concurrent use. The clients it returns are
// shared: read-only.
type clientCache struct {
	mu      sync.RWMutex
	gen     uint64 // moves on every forget, so that a read in flight is not cached
	entries map[string]cachedClient
}

type cachedClient struct {
	client *identity.Client
	until  time.Time
}

func newClientCache() *clientCache {
	return &clientCache{entries: map[string]cachedClient{}}
}

// get returns the client with id while its entry lives, else nil, and the
// generation to put a fresh read under.
func (cc *clientCache) get(id string, now time.Time) (*identity.Client, uint64) {
	cc.mu.RLock()
	e, ok := cc.entries[id]
	gen := cc.gen
	cc.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil, gen
	}
	return e.client, gen
}

// put caches c, read from the store at now, unless an entry was forgotten
// since get returned gen (the read may predate a deletion).
func (cc *clientCache) put(c *identity.Client, gen uint64, now time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if gen != cc.gen {
		return
	}
	if len(cc.entries) >= maxCachedClients {
		clear(cc.entries)
	}
	cc.entries[c.ID] = cachedClient{client: c, until: now.Add(clientCacheTTL)}
}

// forget drops the entry of client id.
func (cc *clientCache) forget(id string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.gen++
	delete(cc.entries, id)
}

// forgetRevoked is a deny list hook (revocation.List.OnRevoke): a
// revocation of a client's tokens drops the client.
func (cc *clientCache) forgetRevoked(e revocation.Entry) {
	if e.Kind == revocation.Client {
		cc.forget(e.Value)
	}
}

// clientForSecret returns the client of a client_secret authentication
// that presents candidates (the secret as decoded and as sent, see
// formDecoded): the cached client when one of them is the secret the
// secret cache verified against its hash, else the store's
// (clientWithSecret), which it caches when the client has a secret.
func (s *Server) clientForSecret(ctx context.Context, id string, candidates []string) (*identity.Client, error) {
	now := time.Now()
	c, gen := s.clients.get(id, now)
	if c != nil && candidates[0] != "" && s.secrets.cached(c, candidates...) {
		return c, nil
	}
	c, err := s.clientWithSecret(ctx, id)
	if err == nil && !c.Public && c.SecretHash != "" {
		s.clients.put(c, gen, now)
	}
	return c, err
}
