package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// Thumbprint returns the RFC 7638 JWK SHA-256 thumbprint of a public key,
// base64url without padding: the cnf.jkt of a token bound to it (RFC 9449
// §6.1). The key is an *ecdsa.PublicKey, an ed25519.PublicKey or an
// *rsa.PublicKey.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey, *rsa.PublicKey:
	default:
		return "", fmt.Errorf("dpop: thumbprint of a %T: not an EC, Ed25519 or RSA public key", pub)
	}
	sum, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("dpop: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// ATH returns the ath claim for an access token: base64url (no padding)
// of the SHA-256 of its ASCII (RFC 9449 §4.2).
func ATH(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
