package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
)

// Algorithm is a JWS signature algorithm (RFC 7518 §3, RFC 8037 §3.1).
// A key has exactly one.
type Algorithm string

// The algorithms gatehouse signs and verifies with.
const (
	// ES256 is ECDSA with P-256 and SHA-256, the default.
	ES256 Algorithm = "ES256"
	// EdDSA is Ed25519 (RFC 8037).
	EdDSA Algorithm = "EdDSA"
	// Ed25519 is the fully-specified name of EdDSA with Ed25519 (RFC 9864
	// §2.2), which clients such as openid-client put in JWS headers and
	// JWKs. It is not a key algorithm of its own: a key of it is an EdDSA
	// key, and an EdDSA key verifies a header that names either (see
	// [Algorithm.Matches]).
	Ed25519 Algorithm = "Ed25519"
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256; keys of at least 2048 bits.
	RS256 Algorithm = "RS256"
	// PS256 is RSASSA-PSS with SHA-256 and MGF1 with SHA-256; keys of at least 2048 bits.
	PS256 Algorithm = "PS256"
	// HS256 is HMAC with SHA-256 over a shared secret of at least 32 bytes.
	// It exists for the shared-secret service tokens of simple deployments;
	// prefer an asymmetric algorithm everywhere else.
	HS256 Algorithm = "HS256"
)

// Default is the algorithm used when none is chosen.
const Default = ES256

// MinRSABits is the smallest RSA modulus accepted for RS256 and PS256.
const MinRSABits = 2048

// MinSecretBytes is the smallest HS256 secret accepted (RFC 7518 §3.2: a key
// of the same size as the hash output or larger).
const MinSecretBytes = 32

// Algorithms lists every supported algorithm, asymmetric ones first.
func Algorithms() []Algorithm { return []Algorithm{ES256, EdDSA, RS256, PS256, HS256} }

// ParseAlgorithm returns the algorithm named s, matched exactly (case
// sensitive, as JWS requires), or an error naming the supported ones.
// It names key algorithms only: Ed25519 is refused (use EdDSA).
func ParseAlgorithm(s string) (Algorithm, error) {
	a := Algorithm(s)
	if slices.Contains(Algorithms(), a) {
		return a, nil
	}
	return "", fmt.Errorf("keys: unsupported algorithm %q: use one of ES256, EdDSA, RS256, PS256, HS256", s)
}

// Matches reports whether a JWS header's alg names a: the same name, or
// for EdDSA also its fully-specified name Ed25519 (RFC 9864 §2.2). The
// comparison is exact (case sensitive, RFC 7515 §4.1.1).
func (a Algorithm) Matches(headerAlg string) bool {
	return string(a) == headerAlg || (a == EdDSA && headerAlg == string(Ed25519))
}

// HeaderNames returns the names a JWS header may give for algs, for
// metadata such as token_endpoint_auth_signing_alg_values_supported: each
// algorithm, and Ed25519 after EdDSA.
func HeaderNames(algs ...Algorithm) []string {
	out := make([]string, 0, len(algs)+1)
	for _, a := range algs {
		out = append(out, string(a))
		if a == EdDSA {
			out = append(out, string(Ed25519))
		}
	}
	return out
}

// Symmetric reports whether a is a shared-secret (HMAC) algorithm.
func (a Algorithm) Symmetric() bool { return a == HS256 }

// Errors callers may branch on.
var (
	// ErrWeakKey reports a key below the minimum size for its algorithm.
	ErrWeakKey = errors.New("keys: key too weak")
	// ErrKeyNotFound reports that no key with the requested kid is known.
	ErrKeyNotFound = errors.New("keys: no key with that kid")
	// ErrUnavailable reports that the keys could not be fetched, so nothing
	// could be checked (as opposed to a key that is known to be absent).
	ErrUnavailable = errors.New("keys: key source unavailable")
	// ErrNoPrivateKey reports a signing attempt with a verification-only key.
	ErrNoPrivateKey = errors.New("keys: key has no private part")
)

// Key is a signing or verification key with one algorithm and a key ID.
// A Key is immutable and safe for concurrent use.
type Key struct {
	id     string
	alg    Algorithm
	public crypto.PublicKey // *ecdsa.PublicKey, ed25519.PublicKey or *rsa.PublicKey; nil for HS256
	signer crypto.Signer    // nil when the key is public only
	secret []byte           // HS256 only
	thumb  string           // RFC 7638 thumbprint
}

// KeyOption configures a key built by [Generate], [New] or [ParsePEM].
type KeyOption interface{ apply(*keyOptions) error }

type keyOptions struct {
	id      string
	rsaBits int
	alg     Algorithm
}

type keyOptionFunc func(*keyOptions) error

func (f keyOptionFunc) apply(o *keyOptions) error { return f(o) }

// WithID sets the key ID (kid). Without it the kid is the key's RFC 7638
// thumbprint.
func WithID(kid string) KeyOption {
	return keyOptionFunc(func(o *keyOptions) error {
		if kid == "" {
			return errors.New("keys: empty kid: omit WithID to use the thumbprint")
		}
		o.id = kid
		return nil
	})
}

// WithRSABits sets the RSA modulus size for [Generate] (default 2048).
func WithRSABits(bits int) KeyOption {
	return keyOptionFunc(func(o *keyOptions) error {
		if bits < MinRSABits {
			return fmt.Errorf("%w: RSA keys need at least %d bits, got %d", ErrWeakKey, MinRSABits, bits)
		}
		o.rsaBits = bits
		return nil
	})
}

// WithAlgorithm sets the algorithm of a key parsed from PEM, where the key
// type alone does not say it (an RSA key may be RS256 or PS256).
func WithAlgorithm(alg Algorithm) KeyOption {
	return keyOptionFunc(func(o *keyOptions) error {
		if _, err := ParseAlgorithm(string(alg)); err != nil {
			return err
		}
		o.alg = alg
		return nil
	})
}

func collect(opts []KeyOption) (keyOptions, error) {
	o := keyOptions{rsaBits: MinRSABits}
	for _, opt := range opts {
		if err := opt.apply(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Generate creates a new random key for alg.
func Generate(alg Algorithm, opts ...KeyOption) (*Key, error) {
	o, err := collect(opts)
	if err != nil {
		return nil, err
	}
	var material any
	switch alg {
	case ES256:
		material, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, material, err = ed25519.GenerateKey(rand.Reader)
	case RS256, PS256:
		material, err = rsa.GenerateKey(rand.Reader, o.rsaBits)
	case HS256:
		secret := make([]byte, MinSecretBytes)
		_, err = rand.Read(secret)
		material = secret
	default:
		_, err = ParseAlgorithm(string(alg))
	}
	if err != nil {
		return nil, fmt.Errorf("keys: generate %s key: %w", alg, err)
	}
	return newKey(alg, material, o.id)
}

// New wraps existing key material: a private key (*ecdsa.PrivateKey,
// ed25519.PrivateKey, *rsa.PrivateKey), a public key (*ecdsa.PublicKey,
// ed25519.PublicKey, *rsa.PublicKey) or, for HS256, a []byte secret. The
// material must fit alg: P-256 for ES256, Ed25519 for EdDSA, RSA of at least
// 2048 bits for RS256 and PS256, at least 32 bytes for HS256. The secret is
// copied.
func New(alg Algorithm, material any, opts ...KeyOption) (*Key, error) {
	o, err := collect(opts)
	if err != nil {
		return nil, err
	}
	if b, ok := material.([]byte); ok {
		material = slices.Clone(b)
	}
	return newKey(alg, material, o.id)
}

func newKey(alg Algorithm, material any, kid string) (*Key, error) {
	k := &Key{alg: alg}
	if err := k.setMaterial(material); err != nil {
		return nil, err
	}
	thumb, err := k.thumbprint()
	if err != nil {
		return nil, err
	}
	k.thumb = thumb
	k.id = kid
	if k.id == "" {
		k.id = thumb
	}
	return k, nil
}

func (k *Key) setMaterial(material any) error {
	alg := k.alg
	switch m := material.(type) {
	case *ecdsa.PrivateKey:
		k.signer, material = m, &m.PublicKey
	case ed25519.PrivateKey:
		if len(m) != ed25519.PrivateKeySize {
			return errors.New("keys: malformed Ed25519 private key")
		}
		k.signer, material = m, m.Public()
	case *rsa.PrivateKey:
		if len(m.Primes) != 2 {
			return errors.New("keys: multi-prime RSA keys are not supported")
		}
		// A key built by hand may be inconsistent; its private JWK and
		// signatures would then fail late (or, for the JWK, panic).
		if err := m.Validate(); err != nil {
			return fmt.Errorf("keys: invalid RSA private key: %w", err)
		}
		if m.Precomputed.Dp == nil {
			m.Precompute()
		}
		k.signer, material = m, &m.PublicKey
	}
	switch m := material.(type) {
	case *ecdsa.PublicKey:
		if alg != ES256 {
			return fmt.Errorf("keys: an ECDSA key cannot be used for %s", alg)
		}
		if m.Curve == nil {
			return errors.New("keys: ECDSA key without curve")
		}
		if m.Curve != elliptic.P256() {
			return fmt.Errorf("keys: ES256 needs a P-256 key, got %s", m.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if alg != EdDSA {
			return fmt.Errorf("keys: an Ed25519 key cannot be used for %s", alg)
		}
		if len(m) != ed25519.PublicKeySize {
			return errors.New("keys: malformed Ed25519 public key")
		}
	case *rsa.PublicKey:
		if alg != RS256 && alg != PS256 {
			return fmt.Errorf("keys: an RSA key cannot be used for %s", alg)
		}
		if m.N.BitLen() < MinRSABits {
			return fmt.Errorf("%w: RSA keys need at least %d bits, got %d", ErrWeakKey, MinRSABits, m.N.BitLen())
		}
		if m.E < 3 || m.E%2 == 0 {
			return fmt.Errorf("keys: RSA public exponent %d is invalid", m.E)
		}
	case []byte:
		if alg != HS256 {
			return fmt.Errorf("keys: a shared secret cannot be used for %s", alg)
		}
		if len(m) < MinSecretBytes {
			return fmt.Errorf("%w: HS256 secrets need at least %d bytes, got %d: generate one with `gatehouse keys generate --alg HS256`", ErrWeakKey, MinSecretBytes, len(m))
		}
		k.secret = m
		return nil
	case nil:
		return errors.New("keys: no key material")
	default:
		return fmt.Errorf("keys: unsupported key material %T", material)
	}
	k.public = material
	return nil
}

// ID returns the key ID (kid).
func (k *Key) ID() string { return k.id }

// Algorithm returns the one algorithm this key is used with.
func (k *Key) Algorithm() Algorithm { return k.alg }

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url).
func (k *Key) Thumbprint() string { return k.thumb }

// Public returns the public key (*ecdsa.PublicKey, ed25519.PublicKey or
// *rsa.PublicKey), or nil for an HS256 key, which has none.
func (k *Key) Public() crypto.PublicKey { return k.public }

// CanSign reports whether the key holds private (or secret) material.
func (k *Key) CanSign() bool { return k.signer != nil || k.secret != nil }

// PublicKey returns a copy of k without private material, with the same kid
// and algorithm. For an HS256 key, which has no public part, it returns nil.
func (k *Key) PublicKey() *Key {
	if k.alg.Symmetric() {
		return nil
	}
	return &Key{id: k.id, alg: k.alg, public: k.public, thumb: k.thumb}
}

// SigningKey returns k itself, so a single key can serve wherever a source of
// the active signing key is expected (as [Set] does with rotation).
func (k *Key) SigningKey() *Key { return k }

// SameKey reports whether k and other hold the same key material and
// algorithm, whatever their kids.
func (k *Key) SameKey(other *Key) bool {
	return other != nil && k.alg == other.alg && k.thumb == other.thumb
}

// String describes the key without any key material.
func (k *Key) String() string {
	kind := "public"
	if k.CanSign() {
		kind = "private"
	}
	return fmt.Sprintf("%s key %s (%s)", k.alg, k.id, kind)
}
