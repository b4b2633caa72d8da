package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-json-experiment/json"
)

// Signer signs DPoP proofs with one key (RFC 9449 §4.2). It is immutable
// and safe for concurrent use.
type Signer struct {
	signer jose.Signer
	alg    string
	jkt    string
	now    func() time.Time
}

// NewSigner returns a signer for key: ECDSA P-256, P-384 or P-521 (ES256,
// ES384, ES512), Ed25519 (EdDSA) or RSA of at least 2048 bits (PS256). The
// key may live elsewhere (an HSM, a KMS): only its Sign is called.
func NewSigner(key crypto.Signer) (*Signer, error) {
	if key == nil {
		return nil, fmt.Errorf("dpop: NewSigner: nil key")
	}
	var alg jose.SignatureAlgorithm
	pub := key.Public()
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			alg = jose.ES256
		case elliptic.P384():
			alg = jose.ES384
		case elliptic.P521():
			alg = jose.ES512
		default:
			return nil, fmt.Errorf("dpop: NewSigner: ECDSA curve %s is not P-256, P-384 or P-521", p.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		alg = jose.EdDSA
	case *rsa.PublicKey:
		if p.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("dpop: NewSigner: RSA key of %d bits, want at least %d", p.N.BitLen(), minRSABits)
		}
		alg = jose.PS256
	default:
		return nil, fmt.Errorf("dpop: NewSigner: a %T key is not ECDSA, Ed25519 or RSA", pub)
	}
	jkt, err := Thumbprint(pub)
	if err != nil {
		return nil, err
	}
	var sk any = key
	switch key.(type) {
	case *ecdsa.PrivateKey, ed25519.PrivateKey, *rsa.PrivateKey:
	default:
		sk = cryptosigner.Opaque(key)
	}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType(proofType)
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: sk}, opts)
	if err != nil {
		return nil, fmt.Errorf("dpop: NewSigner: %w", err)
	}
	return &Signer{signer: js, alg: string(alg), jkt: jkt, now: time.Now}, nil
}

// GenerateSigner returns a signer on a fresh P-256 key.
func GenerateSigner() (*Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dpop: generate key: %w", err)
	}
	return NewSigner(k)
}

// JKT returns the thumbprint of the signer's key: the cnf.jkt of tokens
// bound to it.
func (s *Signer) JKT() string { return s.jkt }

// Algorithm returns the JWS algorithm of the signer's proofs.
func (s *Signer) Algorithm() string { return s.alg }

// proofClaims is the payload of a proof the signer makes.
type proofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Proof returns a proof for one request: method and url (its query and
// fragment left out of htu), the access token sent with it ("" at a token
// endpoint) for ath, and the server's nonce ("" if none). Every call has a
// fresh jti and the current time as iat.
func (s *Signer) Proof(method, url, accessToken, nonce string) (string, error) {
	return s.ProofAt(method, url, accessToken, nonce, s.now())
}

// ProofAt is [Signer.Proof] with iat set to t, for tests and clocks of
// one's own.
func (s *Signer) ProofAt(method, url, accessToken, nonce string, t time.Time) (string, error) {
	if method == "" || url == "" {
		return "", fmt.Errorf("dpop: proof: method and URL are required")
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", fmt.Errorf("dpop: proof: jti: %w", err)
	}
	c := proofClaims{JTI: base64.RawURLEncoding.EncodeToString(id[:]), HTM: method, HTU: stripQuery(url), IAT: t.Unix(), Nonce: nonce}
	if accessToken != "" {
		c.ATH = ATH(accessToken)
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("dpop: proof: %w", err)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop: proof: sign: %w", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("dpop: proof: %w", err)
	}
	return out, nil
}

// stripQuery drops the query and fragment of a URL (RFC 9449 §4.2, htu).
func stripQuery(u string) string {
	for i := 0; i < len(u); i++ {
		if u[i] == '?' || u[i] == '#' {
			return u[:i]
		}
	}
	return u
}
