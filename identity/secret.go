package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters (RFC 9106 §4, OWASP's first recommendation: 19 MiB,
// two passes, one lane). Stored hashes carry their parameters, so raising
// them later keeps old hashes valid.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16
	// MaxPasswordBytes bounds what is hashed, against hashing megabytes.
	MaxPasswordBytes = 1024
	// MinClientSecretBytes is the shortest client secret accepted.
	MinClientSecretBytes = 16
)

var b64 = base64.RawStdEncoding

// Argon2Params are the costs of an argon2id hash (RFC 9106 §3.1). Every
// hash records its own, so hashes of different costs verify side by side.
type Argon2Params struct {
	// MemoryKiB is the memory size m in KiB (at least 8 per thread).
	MemoryKiB uint32
	// Time is the number of passes t.
	Time uint32
	// Threads is the degree of parallelism p.
	Threads uint8
}

// DefaultArgon2Params are the costs of [HashPassword]: OWASP's first
// recommendation for argon2id, 19 MiB, two passes, one lane.
func DefaultArgon2Params() Argon2Params {
	return Argon2Params{MemoryKiB: argonMemoryKiB, Time: argonTime, Threads: argonThreads}
}

// validate checks p against the bounds VerifyPassword accepts.
func (p Argon2Params) validate() error {
	if p.Threads == 0 || p.Threads > 64 || p.Time == 0 || p.Time > 64 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 1<<20 {
		return fmt.Errorf("identity: argon2id parameters m=%d,t=%d,p=%d are out of bounds (1 ≤ p ≤ 64, 1 ≤ t ≤ 64, 8·p ≤ m ≤ 1 GiB)",
			p.MemoryKiB, p.Time, p.Threads)
	}
	return nil
}

// HashPassword returns the argon2id hash of password with
// [DefaultArgon2Params], in PHC string form:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string) (string, error) {
	return HashPasswordWith(password, DefaultArgon2Params())
}

// HashPasswordWith is [HashPassword] with other costs. Lower costs are for
// tests, which hash and verify many passwords (see the example), or for a
// machine that cannot afford the default; higher ones for those that can.
func HashPasswordWith(password string, params Argon2Params) (string, error) {
	if err := params.validate(); err != nil {
		return "", err
	}
	if password == "" {
		return "", errors.New("identity: empty password")
	}
	if len(password) > MaxPasswordBytes {
		return "", fmt.Errorf("identity: password longer than %d bytes", MaxPasswordBytes)
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("identity: salt: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, params.Time, params.MemoryKiB, params.Threads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, params.MemoryKiB, params.Time, params.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// HashSecret hashes a client secret like a password; secrets shorter than
// 16 bytes are refused.
func HashSecret(secret string) (string, error) {
	if len(secret) < MinClientSecretBytes {
		return "", fmt.Errorf("identity: client secret shorter than %d bytes: generate one with `gatehouse client add`", MinClientSecretBytes)
	}
	return HashPassword(secret)
}

// ErrBadHash reports a stored hash that is not an argon2id PHC string.
var ErrBadHash = errors.New("identity: not an argon2id hash")

// VerifyPassword reports whether password matches hash, comparing in
// constant time. An error means the hash itself is unusable.
func VerifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<20 || t > 64 || p > 64 {
		return false, ErrBadHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return false, ErrBadHash
	}
	if len(password) > MaxPasswordBytes {
		return false, nil
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when the user does not exist, so that an
// unknown user costs the same time as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("gatehouse-dummy-password")
	return h
})

// VerifyNoUser spends the time of one password verification and reports
// false: call it when the user is unknown, so that timing does not tell
// unknown users from wrong passwords.
func VerifyNoUser(password string) bool {
	VerifyPassword(dummyHash(), password)
	return false
}

// NewSecret returns a random secret of 32 bytes, base64url-encoded: for
// client secrets, authorization codes and refresh tokens.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewID returns a random identifier (128 bits, base32 text).
func NewID() string { return strings.ToLower(rand.Text()) }

// HashToken returns the SHA-256 of a high-entropy token (code, refresh
// token), base64url-encoded: what stores keep instead of the token.
func HashToken(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
