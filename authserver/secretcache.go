package authserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"

	"github.com/gatehousehq/gatehouse/identity"
)

// secretCache remembers client secrets that verified against a given hash,
// as an HMAC under a per-process random key, so a service asking for tokens
// all day pays argon2id once. A changed hash (new secret) misses.
type secretCache struct {
	key []byte
	mu  sync.RWMutex
	ok  map[string]cachedSecret
}

type cachedSecret struct {
	hash string // identity.Client.SecretHash it verified against
	mac  []byte
}

// maxCachedSecrets bounds the cache; past it, it starts again empty.
const maxCachedSecrets = 10000

func newSecretCache() *secretCache {
	return &secretCache{key: randomBytes(32), ok: map[string]cachedSecret{}}
}

func (c *secretCache) mac(id, secret string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// cached reports whether one of the candidates (the secret as decoded, and
// as sent; see formDecoded) is the secret that last verified against the
// client's current hash: an HMAC and a constant-time comparison, no
// argon2id.
func (c *secretCache) cached(client *identity.Client, candidates ...string) bool {
	c.mu.RLock()
	hit, ok := c.ok[client.ID]
	c.mu.RUnlock()
	if !ok || hit.hash != client.SecretHash {
		return false
	}
	for _, secret := range candidates {
		if hmac.Equal(hit.mac, c.mac(client.ID, secret)) {
			return true
		}
	}
	return false
}

// verify checks the candidates against the client's hash with argon2id,
// each in turn, and caches the one that matches.
func (c *secretCache) verify(client *identity.Client, candidates ...string) bool {
	for _, secret := range candidates {
		good, err := identity.VerifyPassword(client.SecretHash, secret)
		if err != nil || !good {
			continue
		}
		c.mu.Lock()
		if len(c.ok) >= maxCachedSecrets {
			clear(c.ok)
		}
		c.ok[client.ID] = cachedSecret{hash: client.SecretHash, mac: c.mac(client.ID, secret)}
		c.mu.Unlock()
		return true
	}
	return false
}
