package keys

import (
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// Sign signs a JWS signing input (BASE64URL(header) "." BASE64URL(payload))
// with the key's algorithm and returns the raw signature: R||S of 64 bytes for
// ES256 (RFC 7518 §3.4), the Ed25519 signature for EdDSA, the RSA signature
// for RS256 and PS256 (salt length equal to the hash, RFC 7518 §3.5), the
// HMAC for HS256. The signature primitives come from golang-jwt, which calls
// the standard library.
func (k *Key) Sign(signingInput string) ([]byte, error) {
	var material any
	switch {
	case k.secret != nil:
		material = k.secret
	case k.signer != nil:
		material = k.signer
	default:
		return nil, fmt.Errorf("%w: %s", ErrNoPrivateKey, k)
	}
	method := jwt.GetSigningMethod(string(k.alg))
	if method == nil {
		return nil, fmt.Errorf("keys: no signer for %s", k.alg)
	}
	sig, err := method.Sign(signingInput, material)
	if err != nil {
		return nil, fmt.Errorf("keys: sign with %s: %w", k, err)
	}
	return sig, nil
}
