package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-json-experiment/json"

	"github.com/gatehousehq/gatehouse/internal/ttlcache"
)

const (
	// MaxProofBytes bounds a proof: larger ones are refused unparsed.
	MaxProofBytes = 8 << 10
	// MaxJTIBytes bounds a proof's jti.
	MaxJTIBytes = 256
	// proofType is the typ header of a DPoP proof (RFC 9449 §4.2).
	proofType = "dpop+jwt"
	// minRSABits is the smallest RSA key accepted in a proof.
	minRSABits = 2048
	// replayMargin is how much longer than the window a proof's jti is
	// remembered.
	replayMargin = time.Second
)

// Request is what the proof of one HTTP request must match.
type Request struct {
	// Method is the HTTP method the proof must name (htm), compared exactly.
	Method string
	// URL is the target URI (htu), compared without query and fragment
	// after RFC 3986 §6.2.2 and §6.2.3 normalization.
	URL string
	// AltURLs are other names of the same target (another listener of the
	// same endpoint, such as an mTLS alias): htu may name any of them.
	AltURLs []string
	// AccessToken is the access token presented with the proof, for ath
	// (RFC 9449 §4.3 step 12); "" at the token endpoint, where a proof that
	// carries ath is refused (it was made for a resource request).
	AccessToken string
	// JKT is the thumbprint the proof's key must have (cnf.jkt of the
	// token, or dpop_jkt of the authorization request); "" for any key.
	JKT string
	// Nonce requires the proof to carry a current nonce of the Verifier's
	// [Nonces] (RFC 9449 §8).
	Nonce bool
}

// Proof is a verified proof.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof's key, base64url:
	// the cnf.jkt of a token bound to it.
	JKT string
	// ID is the proof's jti.
	ID string
	// IssuedAt is the proof's iat.
	IssuedAt time.Time
	// Algorithm is the proof's JWS algorithm.
	Algorithm string
	// Key is the proof's public key. The Verifier shares it between the
	// proofs of one key (it remembers their header): do not modify it.
	Key crypto.PublicKey
}

// Verifier checks DPoP proofs (RFC 9449 §4.3). It is immutable after
// [NewVerifier] and safe for concurrent use.
type Verifier struct {
	algs         []string
	joseAlgs     []jose.SignatureAlgorithm
	headers      *ttlcache.Cache[string, *header] // headercache.go
	past, future time.Duration
	replay       ReplayCache
	nonces       *Nonces
	now          func() time.Time
}

// NewVerifier returns a verifier with the options applied.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{algs: slices.Clone(defaultAlgorithms), headers: newHeaderCache(), past: defaultPast, future: defaultFuture, now: time.Now}
	for _, o := range opts {
		if err := o.apply(v); err != nil {
			return nil, err
		}
	}
	for _, a := range v.algs {
		v.joseAlgs = append(v.joseAlgs, jose.SignatureAlgorithm(a))
	}
	if v.replay == nil {
		v.replay = newMemoryReplay(defaultReplayMax, v.now)
	}
	return v, nil
}

// Algorithms returns the accepted proof algorithms, for discovery
// (dpop_signing_alg_values_supported) and WWW-Authenticate algs.
func (v *Verifier) Algorithms() []string { return slices.Clone(v.algs) }

// Window returns how old and how far in the future a proof's iat may be.
func (v *Verifier) Window() (past, future time.Duration) { return v.past, v.future }

// claims are the members of a proof's payload that Verify reads.
type claims struct {
	JTI   string  `json:"jti"`
	HTM   string  `json:"htm"`
	HTU   string  `json:"htu"`
	IAT   float64 `json:"iat"`
	ATH   *string `json:"ath"`
	Nonce *string `json:"nonce"`
}

// Verify checks proof against req, RFC 9449 §4.3, and records its jti. A
// refusal wraps [ErrInvalidProof]; a missing or stale nonce is a
// [*NonceError]; a replay cache that cannot answer wraps
// [ErrReplayUnavailable].
func (v *Verifier) Verify(ctx context.Context, proof string, req Request) (*Proof, error) {
	// 1. One compact JWS, of bounded size: three strict base64url
	// segments (no padding, no whitespace, no stray bits).
	if proof == "" {
		return nil, invalid("no proof")
	}
	if len(proof) > MaxProofBytes {
		return nil, invalid("proof larger than %d bytes", MaxProofBytes)
	}
	hdr, input, sigSeg, ok := splitCompact(proof)
	if !ok {
		return nil, errNotCompact
	}
	// 2. The header: typ dpop+jwt, no crit, a public asymmetric jwk (a
	// segment that passed these checks before, with a proof that verified,
	// is not parsed again: headercache.go).
	h, cached := v.headers.Get(hdr)
	var jws *jose.JSONWebSignature
	if !cached {
		var err error
		if h, jws, err = v.parseHeader(proof); err != nil {
			return nil, err
		}
	}
	// 3. The signature, with that key.
	var sigBuf [512]byte
	sig, err := decodeSegment(sigBuf[:], sigSeg)
	if err != nil {
		return nil, errNotCompact
	}
	if h.key != nil {
		err = h.key.Verify([]byte(input), sig)
	} else {
		_, err = jws.Verify(h.pub) // never cached: jws is this proof's
	}
	if err != nil {
		return nil, errSignature
	}
	if !cached && h.cacheable(hdr) {
		v.headers.Set(strings.Clone(hdr), h, time.Time{})
	}
	payload, err := decodeSegment(nil, input[len(hdr)+1:])
	if err != nil {
		return nil, errNotCompact
	}
	// 4. The claims.
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalid("the claims are not one JSON object of the expected types")
	}
	if c.JTI == "" || len(c.JTI) > MaxJTIBytes {
		return nil, invalid("jti missing or longer than %d bytes", MaxJTIBytes)
	}
	if req.Method == "" || c.HTM != req.Method {
		return nil, invalid("htm does not name the method of the request")
	}
	if !sameTarget(c.HTU, req) {
		return nil, invalid("htu does not name the URL of the request")
	}
	if math.IsNaN(c.IAT) || math.IsInf(c.IAT, 0) || c.IAT <= 0 || c.IAT > 1<<40 {
		return nil, invalid("iat missing or not a time")
	}
	iat := time.Unix(int64(c.IAT), 0)
	now := v.now()
	if iat.Before(now.Add(-v.past)) {
		return nil, invalid("iat older than %s", v.past)
	}
	if iat.After(now.Add(v.future)) {
		return nil, invalid("iat in the future")
	}
	switch {
	case req.AccessToken != "" && c.ATH == nil:
		return nil, invalid("no ath for the access token presented")
	case req.AccessToken != "" && !athMatches(*c.ATH, req.AccessToken):
		return nil, invalid("ath is not the hash of the access token presented")
	case req.AccessToken == "" && c.ATH != nil:
		return nil, invalid("ath without an access token")
	}
	jkt := h.jkt
	if req.JKT != "" && subtle.ConstantTimeCompare([]byte(jkt), []byte(req.JKT)) != 1 {
		return nil, invalid("the key is not the one the token is bound to")
	}
	if req.Nonce {
		if v.nonces == nil {
			return nil, fmt.Errorf("dpop: the request requires a nonce and the verifier has no Nonces")
		}
		if c.Nonce == nil || !v.nonces.Valid(*c.Nonce) {
			return nil, &NonceError{Nonce: v.nonces.Current()}
		}
	}
	// 5. Once: the key's thumbprint and the jti, until the proof leaves the
	// window, and a margin more: the window is inclusive (a proof exactly
	// past old is taken), and a cache forgets a key at its until, so
	// without the margin a proof could be replayed at its window's last
	// instant.
	first, err := v.replay.First(ctx, replayKey(jkt, c.JTI), iat.Add(v.past+replayMargin))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReplayUnavailable, err)
	}
	if !first {
		return nil, invalid("jti used before")
	}
	return &Proof{JKT: jkt, ID: c.JTI, IssuedAt: iat, Algorithm: h.alg, Key: h.pub}, nil
}

// sameTarget reports whether htu names req.URL or one of req.AltURLs.
func sameTarget(htu string, req Request) bool {
	if htu == req.URL { // the usual case: one normalization, not two
		_, ok := NormalizeURL(htu)
		return ok
	}
	if SameURL(htu, req.URL) {
		return true
	}
	for _, u := range req.AltURLs {
		if SameURL(htu, u) {
			return true
		}
	}
	return false
}

// publicKey returns the key of a proof's jwk header: public, asymmetric,
// RSA of at least 2048 bits.
func publicKey(k *jose.JSONWebKey) (crypto.PublicKey, error) {
	if !k.Valid() || !k.IsPublic() {
		return nil, invalid("jwk is not a valid public key")
	}
	switch pub := k.Key.(type) {
	case *ecdsa.PublicKey:
		return pub, nil
	case ed25519.PublicKey:
		return pub, nil
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return nil, invalid("RSA jwk shorter than %d bits", minRSABits)
		}
		return pub, nil
	default:
		return nil, invalid("jwk is not an EC, OKP or RSA public key")
	}
}

// replayKey is the hex SHA-256 of the thumbprint and the jti, so that a
// jti chosen by one key cannot collide with another key's.
func replayKey(jkt, jti string) string {
	var buf [64 + 1 + MaxJTIBytes]byte
	sum := sha256.Sum256(append(append(append(buf[:0], jkt...), 0), jti...))
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// athMatches reports whether ath is the ath claim of accessToken (RFC
// 9449 §4.2), in constant time.
func athMatches(ath, accessToken string) bool {
	sum := sha256.Sum256([]byte(accessToken))
	var want [43]byte // base64url of 32 bytes, no padding
	base64.RawURLEncoding.Encode(want[:], sum[:])
	return len(ath) == len(want) && subtle.ConstantTimeCompare([]byte(ath), want[:]) == 1
}

var (
	errNotCompact = invalid("not a compact JWS with an accepted algorithm")
	errSignature  = invalid("the signature does not verify with the jwk")
)

// splitCompact splits a compact JWS (RFC 7515 §7.1) into its header
// segment, its signing input (header.payload) and its signature segment,
// and reports whether it has exactly three segments of strict base64url
// (RFC 7515 §2: no padding; nothing outside the alphabet, so no
// whitespace; the unused bits of the last character zero, so that one
// value has one encoding).
func splitCompact(proof string) (header, input, sig string, ok bool) {
	i := strings.IndexByte(proof, '.')
	if i < 0 {
		return "", "", "", false
	}
	j := strings.IndexByte(proof[i+1:], '.')
	if j < 0 {
		return "", "", "", false
	}
	j += i + 1
	header, payload, sig := proof[:i], proof[i+1:j], proof[j+1:]
	if !strictBase64URL(header) || !strictBase64URL(payload) || !strictBase64URL(sig) {
		return "", "", "", false
	}
	return header, proof[:j], sig, true
}

// strictBase64URL reports whether s is the unpadded base64url encoding of
// some bytes, the only one of them. A '.' is outside the alphabet: a
// fourth segment fails here.
func strictBase64URL(s string) bool {
	if s == "" {
		return true
	}
	var acc byte
	for i := 0; i < len(s); i++ {
		acc |= base64URLValue[s[i]]
	}
	if acc == invalidBase64 {
		return false // outside the alphabet (every value of it is < 64)
	}
	last := base64URLValue[s[len(s)-1]]
	switch len(s) % 4 {
	case 1:
		return false
	case 2: // 12 bits for 1 byte
		return last&0x0f == 0
	case 3: // 18 bits for 2 bytes
		return last&0x03 == 0
	}
	return true
}

// invalidBase64 is the base64URLValue of a byte outside the alphabet.
const invalidBase64 = 0xff

// base64URLValue is the 6-bit value of each character of the base64url
// alphabet (RFC 4648 §5), invalidBase64 for every other byte.
var base64URLValue = func() (t [256]byte) {
	for i := range t {
		t[i] = invalidBase64
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = byte(i)
	}
	return t
}()

// decodeSegment decodes a segment that [strictBase64URL] accepted, into
// buf if it fits.
func decodeSegment(buf []byte, seg string) ([]byte, error) {
	n := base64.RawURLEncoding.DecodedLen(len(seg))
	if n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := base64.RawURLEncoding.Decode(buf[:n], []byte(seg))
	return buf[:n], err
}
