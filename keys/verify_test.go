package keys_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"

	"github.com/gatehousehq/gatehouse/keys"
)

func TestSignatureEncoding(t *testing.T) {
	sizes := map[keys.Algorithm]int{keys.ES256: 64, keys.EdDSA: 64, keys.RS256: 256, keys.PS256: 256, keys.HS256: 32}
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			k := testKey(t, alg)
			sig, err := k.Sign(signingInput)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) != sizes[alg] {
				t.Errorf("signature of %d bytes, want %d", len(sig), sizes[alg])
			}
			if err := k.Verify([]byte(signingInput), sig); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			// Exactly one encoding verifies: no padding, no truncation.
			variants := map[string][]byte{
				"empty":          {},
				"nil":            nil,
				"truncated":      sig[:len(sig)-1],
				"zero appended":  append(append([]byte{}, sig...), 0),
				"zero prepended": append([]byte{0}, sig...),
				"doubled":        append(append([]byte{}, sig...), sig...),
			}
			if alg == keys.ES256 {
				r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
				der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
				if err != nil {
					t.Fatal(err)
				}
				variants["ASN.1 DER"] = der
			}
			for name, v := range variants {
				if err := k.Verify([]byte(signingInput), v); !errors.Is(err, keys.ErrSignature) {
					t.Errorf("%s signature: Verify = %v, want ErrSignature", name, err)
				}
			}
		})
	}
}

// The same RSA key under RS256 and PS256 does not accept the other's
// signatures: a key has exactly one algorithm.
func TestSignatureAlgorithmBound(t *testing.T) {
	rs := testKey(t, keys.RS256)
	ps, err := keys.New(keys.PS256, signerOf(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	rsSig := must[[]byte](t)(rs.Sign(signingInput))
	psSig := must[[]byte](t)(ps.Sign(signingInput))
	if err := ps.Verify([]byte(signingInput), rsSig); !errors.Is(err, keys.ErrSignature) {
		t.Errorf("PS256 key verifies an RS256 signature: %v", err)
	}
	if err := rs.Verify([]byte(signingInput), psSig); !errors.Is(err, keys.ErrSignature) {
		t.Errorf("RS256 key verifies a PS256 signature: %v", err)
	}
	// RFC 7518 §3.5: the PSS salt is as long as the hash, and only that verifies.
	h := sha256.Sum256([]byte(signingInput))
	for _, salt := range []int{0, 20, rsa.PSSSaltLengthAuto} {
		sig, err := rsa.SignPSS(rand.Reader, signerOf(t, rs).(*rsa.PrivateKey), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: salt})
		if err != nil {
			t.Fatal(err)
		}
		if err := ps.Verify([]byte(signingInput), sig); !errors.Is(err, keys.ErrSignature) {
			t.Errorf("PS256 verifies a PSS signature with salt length %d: %v", salt, err)
		}
	}
	// An HMAC under another secret does not verify.
	other := newKeyCached(t, keys.HS256, "other")
	if err := testKey(t, keys.HS256).Verify([]byte(signingInput), must[[]byte](t)(other.Sign(signingInput))); !errors.Is(err, keys.ErrSignature) {
		t.Errorf("HS256 verifies another secret's MAC: %v", err)
	}
}
