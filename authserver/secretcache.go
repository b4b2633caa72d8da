package authserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/ttlcache"
)

// secretCache remembers client secrets that verified against a given hash,
// as an HMAC under a per-process random key, so a service asking for tokens
// all day pays argon2id once. A changed hash (new secret) misses. Entries
// do not expire; past maxCachedSecrets clients, the least used go
// (internal/ttlcache).
type secretCache struct {
	key []byte
	ok  *ttlcache.Cache[string, cachedSecret] // client id → what verified
}

type cachedSecret struct {
	hash string // identity.Client.SecretHash it verified against
	mac  []byte
}

// maxCachedSecrets bounds the cache.
const maxCachedSecrets = 10000

func newSecretCache() *secretCache {
	return &secretCache{key: randomBytes(32),
		ok: ttlcache.Must(ttlcache.Options[string, cachedSecret]{MaxEntries: maxCachedSecrets})}
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
	hit, ok := c.ok.Get(client.ID)
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
		c.ok.Set(client.ID, cachedSecret{hash: client.SecretHash, mac: c.mac(client.ID, secret)}, time.Time{})
		return true
	}
	return false
}
