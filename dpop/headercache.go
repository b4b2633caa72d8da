package dpop

import (
	"crypto"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse/internal/ttlcache"
	"github.com/gatehousehq/gatehouse/keys"
)

// A client sends the same protected header (typ, alg, jwk) with every
// proof of a key, so a [Verifier] remembers what the header checks of
// Verify made of a header segment: parsing it with go-jose and validating
// its jwk is most of what a proof costs beyond its signature. The cache is
// keyed by the segment as received (base64url), so a hit is for the very
// bytes that passed every header check before; those checks depend on the
// segment and the Verifier's algorithms only, so a hit refuses and accepts
// exactly what a miss does. Only headers whose proof then verified are
// stored, and never a refused one.
const (
	// headerCacheSize bounds the headers one Verifier remembers (W-TinyLFU
	// eviction, so a flood of one-off keys does not push out the keys of
	// clients that keep coming back).
	headerCacheSize = 10_000
	// maxCachedHeader bounds the segments stored, so that the cache holds
	// at most headerCacheSize × 1 KiB of them: a P-521 or RSA-4096 jwk
	// fits; a larger header is parsed on every proof.
	maxCachedHeader = 1 << 10
)

// header is a protected header that passed the header checks of Verify.
// It is immutable once made.
type header struct {
	alg string           // the JWS algorithm, one the Verifier accepts
	pub crypto.PublicKey // the jwk: *ecdsa.PublicKey, ed25519.PublicKey or *rsa.PublicKey
	jkt string           // its RFC 7638 thumbprint
	// key verifies the signature with the standard library (package keys:
	// ES256, EdDSA, RS256, PS256). It is nil for the other algorithms
	// (ES384, ES512, RS384, RS512, PS384, PS512), whose signature go-jose
	// checks; such headers are never cached.
	key *keys.Key
}

func newHeaderCache() *ttlcache.Cache[string, *header] {
	return ttlcache.Must(ttlcache.Options[string, *header]{MaxEntries: headerCacheSize})
}

// cacheable reports whether h may be remembered for its segment.
func (h *header) cacheable(segment string) bool {
	return h.key != nil && len(segment) <= maxCachedHeader
}

// keyAlgorithms are the proof algorithms package keys verifies.
var keyAlgorithms = map[string]keys.Algorithm{
	"ES256": keys.ES256, "EdDSA": keys.EdDSA, "RS256": keys.RS256, "PS256": keys.PS256,
}

// parseHeader makes the checks of a proof's protected header (RFC 9449
// §4.3 steps 2 to 6): a compact JWS with an accepted algorithm, typ
// dpop+jwt, no crit, no b64 (RFC 7797: a proof is a JWT, its payload
// base64url), a public asymmetric jwk. It parses with go-jose, and returns
// the parsed JWS for the signature check of the algorithms package keys
// does not verify.
func (v *Verifier) parseHeader(proof string) (*header, *jose.JSONWebSignature, error) {
	jws, err := jose.ParseSignedCompact(proof, v.joseAlgs)
	if err != nil {
		return nil, nil, errNotCompact
	}
	if len(jws.Signatures) != 1 {
		return nil, nil, invalid("not one signature")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != proofType {
		return nil, nil, invalid("typ is not %s", proofType)
	}
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, nil, invalid("critical header parameters are not supported")
	}
	if b64, ok := h.ExtraHeaders["b64"]; ok && b64 != true {
		return nil, nil, invalid("an unencoded payload (b64) is not a JWT")
	}
	if h.JSONWebKey == nil {
		return nil, nil, invalid("no jwk header")
	}
	pub, err := publicKey(h.JSONWebKey)
	if err != nil {
		return nil, nil, err
	}
	jkt, err := Thumbprint(pub)
	if err != nil {
		return nil, nil, invalid("jwk has no thumbprint")
	}
	out := &header{alg: h.Algorithm, pub: pub, jkt: jkt}
	if alg, ok := keyAlgorithms[h.Algorithm]; ok {
		// keys refuses a key that does not fit the algorithm (a P-384 jwk
		// for ES256): that proof's signature cannot verify.
		if out.key, err = keys.New(alg, pub); err != nil {
			return nil, nil, errSignature
		}
	}
	return out, jws, nil
}
