package keyseal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

const (
	// MinSecretBytes is the shortest secret accepted. HKDF does not
	// stretch a weak secret: use random bytes (GenerateSecret, or
	// openssl rand -base64 32), not a passphrase.
	MinSecretBytes = 32
	// MaxSecretBytes bounds a secret, against a file read by mistake.
	MaxSecretBytes = 4096
	// MaxStoredBytes bounds what Open reads: a sealed RSA-4096 private JWK
	// takes some 4.5 KiB.
	MaxStoredBytes = 64 << 10

	version  = "v1"
	keyInfo  = "gatehouse keyseal v1 AES-256-GCM key"
	fpInfo   = "gatehouse keyseal v1 secret fingerprint"
	fpBytes  = 8
	nonceLen = 12
	tagLen   = 16
)

var b64 = base64.RawURLEncoding

// Errors of Open, wrapped in an [*Error] that names the key; callers
// branch with errors.Is.
var (
	// ErrNoSecret: the value is sealed and no secret is configured.
	ErrNoSecret = errors.New("keyseal: sealed, and no key-encryption secret is configured")
	// ErrUnknownSecret: the value is sealed under a secret that is not
	// among the configured ones (its fingerprint names another).
	ErrUnknownSecret = errors.New("keyseal: sealed under a secret that is not configured")
	// ErrNotAuthentic: the secret the value names is configured and does
	// not authenticate it: the value was altered or truncated, or copied
	// from another key's row (the key id is authenticated).
	ErrNotAuthentic = errors.New("keyseal: does not authenticate")
	// ErrMalformed: the value is neither a clear JWK nor a sealed value of
	// a known format.
	ErrMalformed = errors.New("keyseal: not a sealed value of a known format")
	// ErrClear: the value is stored in clear although a secret is
	// configured.
	ErrClear = errors.New("keyseal: stored in clear")
)

// Error is a stored key that does not open: which key, the fingerprint of
// the secret its value names ("" when none), and why (one of the
// sentinels above, or a detail wrapping ErrMalformed).
type Error struct {
	KeyID       string
	Fingerprint string
	Err         error
}

func (e *Error) Error() string {
	switch {
	case errors.Is(e.Err, ErrNoSecret):
		return fmt.Sprintf("keyseal: signing key %s is sealed (under the secret of fingerprint %s) and no key-encryption secret is configured: configure the secret it was sealed with", e.KeyID, e.Fingerprint)
	case errors.Is(e.Err, ErrUnknownSecret):
		return fmt.Sprintf("keyseal: signing key %s is sealed under a key-encryption secret that is not configured (fingerprint %s): configure that secret, as the current or a previous one", e.KeyID, e.Fingerprint)
	case errors.Is(e.Err, ErrNotAuthentic):
		return fmt.Sprintf("keyseal: signing key %s does not authenticate under the configured secret of fingerprint %s: its stored value was altered, or copied from another key's row; restore it from a backup or delete the key", e.KeyID, e.Fingerprint)
	case errors.Is(e.Err, ErrClear):
		return fmt.Sprintf("keyseal: signing key %s is stored in clear although a key-encryption secret is configured: it was written by a process without the secret; open the store with the secret to seal it", e.KeyID)
	}
	return fmt.Sprintf("keyseal: signing key %s cannot be opened: its stored value is %s; restore it from a backup or delete the key", e.KeyID, strings.TrimPrefix(e.Err.Error(), "keyseal: "))
}

func (e *Error) Unwrap() error { return e.Err }

// secret is one configured secret: its fingerprint and its AEAD.
type secret struct {
	fp   string
	aead cipher.AEAD
}

// Sealer seals with its current secret and opens with any of its secrets.
// It is immutable and safe for concurrent use. A nil *Sealer stands for no
// secret: Seal returns the value as is and Open accepts clear values only.
type Sealer struct {
	current *secret
	byFP    map[string]*secret
	order   []string // fingerprints, the current one first
}

// CheckSecret reports what is wrong with a secret: shorter than
// MinSecretBytes or longer than MaxSecretBytes. The error never holds it.
func CheckSecret(secret []byte) error {
	if err := checkSecret(secret); err != nil {
		return fmt.Errorf("keyseal: %w", err)
	}
	return nil
}

func checkSecret(secret []byte) error {
	switch {
	case len(secret) < MinSecretBytes:
		return fmt.Errorf("the secret is %d bytes; a key-encryption secret needs at least %d random bytes (make one with 'gatehouse keys secret --out FILE' or 'openssl rand -base64 32')", len(secret), MinSecretBytes)
	case len(secret) > MaxSecretBytes:
		return fmt.Errorf("the secret is %d bytes, more than %d: is it the right file?", len(secret), MaxSecretBytes)
	}
	return nil
}

// Fingerprint returns the fingerprint of a secret as sealed values name it
// (16 hex digits): safe to log, to tell secrets apart.
func Fingerprint(secret []byte) string {
	fp, err := hkdf.Key(sha256.New, secret, nil, fpInfo, fpBytes)
	if err != nil { // only for lengths HKDF-SHA256 cannot give
		panic(err)
	}
	return hex.EncodeToString(fp)
}

// GenerateSecret returns a new random secret: 32 bytes from crypto/rand,
// base64url-encoded (43 characters).
func GenerateSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return b64.EncodeToString(b)
}

// New returns a Sealer that seals with current and opens with current and
// every previous secret. Each must pass CheckSecret, and no two may be the
// same secret.
func New(current []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{byFP: map[string]*secret{}}
	for i, raw := range append([][]byte{current}, previous...) {
		what := "the current secret"
		if i > 0 {
			what = fmt.Sprintf("previous secret %d", i)
		}
		if err := checkSecret(raw); err != nil {
			return nil, fmt.Errorf("keyseal: %s: %w", what, err)
		}
		sec, err := newSecret(raw)
		if err != nil {
			return nil, fmt.Errorf("keyseal: %s: %w", what, err)
		}
		if _, dup := s.byFP[sec.fp]; dup {
			return nil, fmt.Errorf("keyseal: %s is the same secret as an earlier one (fingerprint %s): list each secret once", what, sec.fp)
		}
		s.byFP[sec.fp] = sec
		s.order = append(s.order, sec.fp)
		if i == 0 {
			s.current = sec
		}
	}
	return s, nil
}

func newSecret(raw []byte) (*secret, error) {
	key, err := hkdf.Key(sha256.New, raw, nil, keyInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &secret{fp: Fingerprint(raw), aead: aead}, nil
}

// Fingerprint returns the fingerprint of the current secret ("" for a nil
// Sealer).
func (s *Sealer) Fingerprint() string {
	if s == nil {
		return ""
	}
	return s.current.fp
}

// Fingerprints returns the fingerprints of the secrets, the current one
// first, in the order given to New (none for a nil Sealer).
func (s *Sealer) Fingerprints() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.order)
}

// Seal returns what to store for the private key material plaintext of the
// key kid: an envelope sealed under the current secret with a fresh
// nonce. A nil Sealer returns a copy of plaintext (stored in clear).
func (s *Sealer) Seal(kid string, plaintext []byte) ([]byte, error) {
	if s == nil {
		return bytes.Clone(plaintext), nil
	}
	if kid == "" {
		return nil, errors.New("keyseal: seal: empty key id")
	}
	header := version + ":" + s.current.fp + ":"
	nonce := make([]byte, nonceLen, nonceLen+len(plaintext)+tagLen)
	rand.Read(nonce)
	sealed := s.current.aead.Seal(nonce, nonce, plaintext, aad(header, kid))
	out := make([]byte, 0, len(header)+b64.EncodedLen(len(sealed)))
	out = append(out, header...)
	return b64.AppendEncode(out, sealed), nil
}

// Open returns the private key material of the key kid from its stored
// value. With a Sealer the value must be sealed under one of its secrets
// for kid; a nil Sealer accepts a clear value only. Errors are [*Error]s
// wrapping ErrNoSecret, ErrUnknownSecret, ErrNotAuthentic, ErrMalformed or
// ErrClear.
func (s *Sealer) Open(kid string, stored []byte) ([]byte, error) {
	fail := func(fp string, err error) ([]byte, error) {
		return nil, &Error{KeyID: kid, Fingerprint: fp, Err: err}
	}
	if IsClear(stored) {
		if s != nil {
			return fail("", ErrClear)
		}
		return stored, nil
	}
	env, err := parse(stored)
	if err != nil {
		return fail("", err)
	}
	if s == nil {
		return fail(env.fp, ErrNoSecret)
	}
	sec, ok := s.byFP[env.fp]
	if !ok {
		return fail(env.fp, ErrUnknownSecret)
	}
	if len(env.sealed) < nonceLen+tagLen {
		return fail(env.fp, ErrNotAuthentic)
	}
	nonce, ct := env.sealed[:nonceLen], env.sealed[nonceLen:]
	plain, err := sec.aead.Open(nil, nonce, ct, aad(env.header, kid))
	if err != nil {
		return fail(env.fp, ErrNotAuthentic)
	}
	return plain, nil
}

// Reseal returns stored sealed under the current secret, for the key kid:
// a clear value is sealed, a value sealed under a previous secret is
// opened and sealed again, and a value sealed under the current secret is
// opened (so that one that does not open is an error all the same) and
// returned as it is, with changed false. A nil Sealer fails.
func (s *Sealer) Reseal(kid string, stored []byte) (out []byte, changed bool, err error) {
	if s == nil {
		return nil, false, errors.New("keyseal: reseal: no key-encryption secret is configured")
	}
	plain := stored
	if !IsClear(stored) {
		if plain, err = s.Open(kid, stored); err != nil {
			return nil, false, err
		}
		if s.Current(stored) {
			return stored, false, nil
		}
	}
	out, err = s.Seal(kid, plain)
	return out, err == nil, err
}

// Current reports whether stored is sealed under the current secret (for
// a re-seal to skip it). It checks the fingerprint only; Open
// authenticates.
func (s *Sealer) Current(stored []byte) bool {
	if s == nil {
		return IsClear(stored)
	}
	env, err := parse(stored)
	return err == nil && env.fp == s.current.fp
}

// FingerprintOf returns the fingerprint of the secret a sealed value names,
// or "" for a clear or malformed value.
func FingerprintOf(stored []byte) string {
	env, err := parse(stored)
	if err != nil {
		return ""
	}
	return env.fp
}

// IsClear reports whether stored is a clear value: a JSON object, as a
// private JWK is (its first byte other than white space is '{').
func IsClear(stored []byte) bool {
	t := bytes.TrimLeft(stored, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

// envelope is a parsed sealed value.
type envelope struct {
	header string // "v1:<fp>:"
	fp     string
	sealed []byte // nonce || ciphertext || tag
}

// parse splits a sealed value into its fields; it checks the format, not
// the contents.
func parse(stored []byte) (envelope, error) {
	if len(stored) > MaxStoredBytes {
		return envelope{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(stored), MaxStoredBytes)
	}
	ver, rest, ok := strings.Cut(string(stored), ":")
	if !ok || ver == "" {
		return envelope{}, fmt.Errorf("%w: neither a JSON object nor version:fingerprint:data", ErrMalformed)
	}
	if ver != version {
		if len(ver) > 8 {
			ver = ver[:8] + "…"
		}
		return envelope{}, fmt.Errorf("%w: format %q is unknown to this release (it reads %s): was it written by a newer gatehouse?", ErrMalformed, ver, version)
	}
	fp, data, ok := strings.Cut(rest, ":")
	if !ok || len(fp) != 2*fpBytes || !isHex(fp) {
		return envelope{}, fmt.Errorf("%w: %s value without a fingerprint of %d hex digits", ErrMalformed, version, 2*fpBytes)
	}
	sealed, err := b64.DecodeString(data)
	if err != nil {
		return envelope{}, fmt.Errorf("%w: %s value whose data is not base64url", ErrMalformed, version)
	}
	return envelope{header: version + ":" + fp + ":", fp: fp, sealed: sealed}, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// aad is the associated data of a sealed value: its header and the key id.
func aad(header, kid string) []byte {
	return []byte(header + kid)
}
