package token

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// Confirmation is the "cnf" claim of a sender-constrained token (RFC 7800
// §3.1). At most one member is set by gatehouse.
type Confirmation struct {
	// X5TS256 is the base64url SHA-256 thumbprint of the DER of the client
	// certificate the token is bound to (RFC 8705 §3.1, "x5t#S256").
	X5TS256 string `json:"x5t#S256,omitempty"`
	// JKT is the base64url SHA-256 JWK thumbprint (RFC 7638) of the DPoP
	// public key the token is bound to (RFC 9449 §6.1, "jkt").
	JKT string `json:"jkt,omitempty"`
}

// Bound reports whether the claims bind the token to a key: a token with a
// cnf claim is never a plain bearer token, whatever member it holds.
func (c *Claims) Bound() bool { return c.Confirmation != nil }

// CertificateThumbprint returns the x5t#S256 value of a certificate: the
// base64url (no padding) SHA-256 of its DER encoding (RFC 8705 §3.1).
func CertificateThumbprint(der []byte) string {
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// BoundToCertificate reports whether the claims bind the token to the
// certificate with DER encoding der (cnf.x5t#S256, RFC 8705 §3.1), comparing
// in constant time.
func (c *Claims) BoundToCertificate(der []byte) bool {
	if c.Confirmation == nil || c.Confirmation.X5TS256 == "" || len(der) == 0 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Confirmation.X5TS256), []byte(CertificateThumbprint(der))) == 1
}
