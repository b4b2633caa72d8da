package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
)

// Sign signs a JWS signing input (BASE64URL(header) "." BASE64URL(payload))
// with the key's algorithm and returns the raw signature (RFC 7515 §5.1): R||S
// of 64 bytes, each left-padded to 32, for ES256 (RFC 7518 §3.4, never ASN.1),
// the Ed25519 signature for EdDSA (RFC 8037 §3.1), RSASSA-PKCS1-v1_5 for RS256
// (RFC 7518 §3.3), RSASSA-PSS with MGF1 and a salt as long as the hash for
// PS256 (RFC 7518 §3.5), the HMAC for HS256 (RFC 7518 §3.2): the one encoding
// [Key.Verify] accepts. It uses the standard library's primitives only.
func (k *Key) Sign(signingInput string) ([]byte, error) {
	if k.secret == nil && k.signer == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoPrivateKey, k)
	}
	in := []byte(signingInput)
	digest := func() []byte { h := sha256.Sum256(in); return h[:] }
	var (
		sig []byte
		err error
	)
	switch k.alg {
	case HS256:
		mac := hmac.New(sha256.New, k.secret)
		mac.Write(in)
		return mac.Sum(nil), nil
	case ES256:
		r, s, serr := ecdsa.Sign(rand.Reader, k.signer.(*ecdsa.PrivateKey), digest())
		if err = serr; err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	case EdDSA:
		sig = ed25519.Sign(k.signer.(ed25519.PrivateKey), in)
	case RS256:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k.signer.(*rsa.PrivateKey), crypto.SHA256, digest())
	case PS256:
		sig, err = rsa.SignPSS(rand.Reader, k.signer.(*rsa.PrivateKey), crypto.SHA256, digest(), pssOptions)
	default:
		return nil, fmt.Errorf("keys: no signer for %s", k.alg)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: sign with %s: %w", k, err)
	}
	return sig, nil
}
