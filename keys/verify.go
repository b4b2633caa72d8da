package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
)

// ErrSignature reports a signature that does not verify with the key.
var ErrSignature = errors.New("keys: signature does not verify")

var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}

// Verify checks a JWS signature over signingInput with the key's one
// algorithm; the caller has already matched the token's alg to it. It uses the
// standard library only and accepts exactly one encoding per algorithm: R||S
// of exactly 64 bytes for ES256 (never ASN.1), 64 bytes for EdDSA, a signature
// as long as the modulus for RS256 and PS256 (PSS salt equal to the hash
// length), 32 bytes for HS256 compared in constant time.
func (k *Key) Verify(signingInput, sig []byte) error {
	ok := false
	switch k.alg {
	case ES256:
		if len(sig) != 64 {
			return ErrSignature
		}
		h := sha256.Sum256(signingInput)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		ok = ecdsa.Verify(k.public.(*ecdsa.PublicKey), h[:], r, s)
	case EdDSA:
		ok = len(sig) == ed25519.SignatureSize && ed25519.Verify(k.public.(ed25519.PublicKey), signingInput, sig)
	case RS256:
		pub := k.public.(*rsa.PublicKey)
		if len(sig) != pub.Size() {
			return ErrSignature
		}
		h := sha256.Sum256(signingInput)
		ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
	case PS256:
		pub := k.public.(*rsa.PublicKey)
		if len(sig) != pub.Size() {
			return ErrSignature
		}
		h := sha256.Sum256(signingInput)
		ok = rsa.VerifyPSS(pub, crypto.SHA256, h[:], sig, pssOptions) == nil
	case HS256:
		mac := hmac.New(sha256.New, k.secret)
		mac.Write(signingInput)
		ok = hmac.Equal(mac.Sum(nil), sig)
	}
	if !ok {
		return ErrSignature
	}
	return nil
}
