// Package keyseal seals private key material at rest: the auth server's
// signing keys, as the identity stores keep them, are encrypted with
// AES-256-GCM under a key-encryption secret that lives outside the store (an
// environment variable or a file), so that a backup, a replica or a dump of
// the database does not let its reader sign tokens.
//
// A [Sealer] holds the current secret, which seals, and any previous ones,
// which only open, so that the secret can be rotated: configure the new
// secret as the current one and the old one as previous, re-seal every
// stored key (gatehouse keys reencrypt), then drop the old secret.
//
//	s, err := keyseal.New(current, previous)  // secrets of at least 32 bytes
//	stored, err := s.Seal(kid, privateJWK)     // what the store keeps
//	privateJWK, err = s.Open(kid, stored)      // the kid is authenticated too
//
// # Envelope
//
// A sealed value is ASCII text of three fields separated by colons:
//
//	v1:<fingerprint>:<base64url(nonce || ciphertext || tag)>
//
// v1 is the format: AES-256-GCM with a random 96-bit nonce, under a key
// derived from the secret with HKDF-SHA256 (RFC 5869, no salt, the fixed
// info "gatehouse keyseal v1 AES-256-GCM key"). The fingerprint names the
// secret: 8 bytes of HKDF-SHA256 of the secret under another fixed info,
// in hex; it tells nothing of the key (an attacker who could guess the
// secret from it could as well try it on the ciphertext), and lets Open
// tell a value sealed under a secret that is not configured
// ([ErrUnknownSecret]) from one that a configured secret does not
// authenticate ([ErrNotAuthentic]: the value was altered, truncated, or
// copied from another key's row). The associated data is the header
// ("v1:<fingerprint>:") followed by the key's id, so that a sealed value
// opens only as the key it was sealed for.
//
// A clear private JWK is a JSON object and starts with "{": that is how a
// store written before sealing is recognised ([IsClear]) and sealed on its
// first start with a secret. A nil *Sealer is a store without a secret: it
// stores clear values and refuses sealed ones ([ErrNoSecret]); a Sealer
// refuses clear values ([ErrClear]), since only a process without the
// secret writes them.
//
// A Sealer is immutable and safe for concurrent use. No error of this
// package holds a secret or a plaintext.
package keyseal
