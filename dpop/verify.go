package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-json-experiment/json"
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
	// Key is the proof's public key.
	Key crypto.PublicKey
}

// Verifier checks DPoP proofs (RFC 9449 §4.3). It is immutable after
// [NewVerifier] and safe for concurrent use.
type Verifier struct {
	algs         []string
	joseAlgs     []jose.SignatureAlgorithm
	past, future time.Duration
	replay       ReplayCache
	nonces       *Nonces
	now          func() time.Time
}

// NewVerifier returns a verifier with the options applied.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{algs: slices.Clone(defaultAlgorithms), past: defaultPast, future: defaultFuture, now: time.Now}
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
	// 1. One compact JWS, of bounded size.
	if proof == "" {
		return nil, invalid("no proof")
	}
	if len(proof) > MaxProofBytes {
		return nil, invalid("proof larger than %d bytes", MaxProofBytes)
	}
	jws, err := jose.ParseSignedCompact(proof, v.joseAlgs)
	if err != nil {
		return nil, invalid("not a compact JWS with an accepted algorithm")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("not one signature")
	}
	h := jws.Signatures[0].Protected
	// 2. The header: typ dpop+jwt, no crit, a public asymmetric jwk.
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != proofType {
		return nil, invalid("typ is not %s", proofType)
	}
	if _, ok := h.ExtraHeaders["crit"]; ok {
		return nil, invalid("critical header parameters are not supported")
	}
	if h.JSONWebKey == nil {
		return nil, invalid("no jwk header")
	}
	pub, err := publicKey(h.JSONWebKey)
	if err != nil {
		return nil, err
	}
	// 3. The signature, with that key.
	payload, err := jws.Verify(pub)
	if err != nil {
		return nil, invalid("the signature does not verify with the jwk")
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
	case req.AccessToken != "" && subtle.ConstantTimeCompare([]byte(*c.ATH), []byte(ATH(req.AccessToken))) != 1:
		return nil, invalid("ath is not the hash of the access token presented")
	case req.AccessToken == "" && c.ATH != nil:
		return nil, invalid("ath without an access token")
	}
	jkt, err := Thumbprint(pub)
	if err != nil {
		return nil, invalid("jwk has no thumbprint")
	}
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
	return &Proof{JKT: jkt, ID: c.JTI, IssuedAt: iat, Algorithm: h.Algorithm, Key: pub}, nil
}

// sameTarget reports whether htu names req.URL or one of req.AltURLs.
func sameTarget(htu string, req Request) bool {
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
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	return hex.EncodeToString(h.Sum(nil))
}
