package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// jwk is the JSON Web Key wire form (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2).
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	// Private members.
	D   string         `json:"d,omitempty"`
	P   string         `json:"p,omitempty"`
	Q   string         `json:"q,omitempty"`
	DP  string         `json:"dp,omitempty"`
	DQ  string         `json:"dq,omitempty"`
	QI  string         `json:"qi,omitempty"`
	K   string         `json:"k,omitempty"`
	Oth jsontext.Value `json:"oth,omitempty"`
}

var b64 = base64.RawURLEncoding.Strict()

func b64decode(field, s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("keys: JWK member %q is not unpadded base64url", field)
	}
	return b, nil
}

func b64int(field, s string) (*big.Int, error) {
	b, err := b64decode(field, s)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 || b[0] == 0 {
		return nil, fmt.Errorf("keys: JWK member %q is not a minimal big-endian integer", field)
	}
	return new(big.Int).SetBytes(b), nil
}

// errNotSupported marks a well-formed JWK that gatehouse does not use (an
// encryption key, another curve); a JWKS skips such keys.
var errNotSupported = errors.New("keys: JWK not supported")

// toWire encodes k as a JWK; with private set it includes the private members.
func (k *Key) toWire(private bool) (*jwk, error) {
	w := &jwk{Kid: k.id, Alg: string(k.alg), Use: "sig"}
	switch pub := k.public.(type) {
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes()
		if err != nil {
			return nil, fmt.Errorf("keys: encode EC key: %w", err)
		}
		w.Kty, w.Crv = "EC", "P-256"
		w.X, w.Y = b64.EncodeToString(raw[1:33]), b64.EncodeToString(raw[33:])
		if private && k.signer != nil {
			d, err := k.signer.(*ecdsa.PrivateKey).Bytes()
			if err != nil {
				return nil, fmt.Errorf("keys: encode EC key: %w", err)
			}
			w.D = b64.EncodeToString(d)
		}
	case ed25519.PublicKey:
		w.Kty, w.Crv = "OKP", "Ed25519"
		w.X = b64.EncodeToString(pub)
		if private && k.signer != nil {
			w.D = b64.EncodeToString(k.signer.(ed25519.PrivateKey).Seed())
		}
	case *rsa.PublicKey:
		w.Kty = "RSA"
		w.N = b64.EncodeToString(pub.N.Bytes())
		w.E = b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
		if private && k.signer != nil {
			priv := k.signer.(*rsa.PrivateKey)
			if len(priv.Primes) != 2 {
				return nil, errors.New("keys: multi-prime RSA keys are not supported")
			}
			w.D = b64.EncodeToString(priv.D.Bytes())
			w.P = b64.EncodeToString(priv.Primes[0].Bytes())
			w.Q = b64.EncodeToString(priv.Primes[1].Bytes())
			w.DP = b64.EncodeToString(priv.Precomputed.Dp.Bytes())
			w.DQ = b64.EncodeToString(priv.Precomputed.Dq.Bytes())
			w.QI = b64.EncodeToString(priv.Precomputed.Qinv.Bytes())
		}
	default:
		if k.secret == nil {
			return nil, errors.New("keys: key without material")
		}
		if !private {
			return nil, fmt.Errorf("keys: %s is a shared secret and has no public form", k)
		}
		w.Kty = "oct"
		w.K = b64.EncodeToString(k.secret)
	}
	return w, nil
}

// MarshalJSON encodes the public JWK of k (never private material), so that
// logging or serving a Key cannot leak it. An HS256 key has no public form
// and returns an error. Use [Key.PrivateJWK] to store a key.
func (k *Key) MarshalJSON() ([]byte, error) { return k.PublicJWK() }

// PublicJWK encodes the public JWK of k. An HS256 key returns an error.
func (k *Key) PublicJWK() ([]byte, error) {
	w, err := k.toWire(false)
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// PrivateJWK encodes k as a JWK with its private members, for storage in a
// file of mode 0600 (see [Save]). Never serve or log its output.
func (k *Key) PrivateJWK() ([]byte, error) {
	if !k.CanSign() {
		return nil, fmt.Errorf("%w: %s", ErrNoPrivateKey, k)
	}
	w, err := k.toWire(true)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(w, "", "  ")
}

// thumbprint computes the RFC 7638 thumbprint: SHA-256 over the required
// members in lexicographic order, without whitespace.
func (k *Key) thumbprint() (string, error) {
	w, err := k.toWire(k.secret != nil)
	if err != nil {
		return "", err
	}
	var canonical string
	switch w.Kty {
	case "EC":
		canonical = `{"crv":"` + w.Crv + `","kty":"EC","x":"` + w.X + `","y":"` + w.Y + `"}`
	case "OKP":
		canonical = `{"crv":"` + w.Crv + `","kty":"OKP","x":"` + w.X + `"}`
	case "RSA":
		canonical = `{"e":"` + w.E + `","kty":"RSA","n":"` + w.N + `"}`
	case "oct":
		canonical = `{"k":"` + w.K + `","kty":"oct"}`
	}
	sum := sha256.Sum256([]byte(canonical))
	return b64.EncodeToString(sum[:]), nil
}

// ParseJWK decodes one JWK, with or without private members. Symmetric (oct)
// keys are accepted here, for key files; JWKS documents never yield them.
func ParseJWK(data []byte) (*Key, error) {
	var w jwk
	if err := strictUnmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("keys: JWK is not valid JSON: %w", err)
	}
	k, err := w.key(true)
	if errors.Is(err, errNotSupported) {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return k, err
}

// key builds a Key from the wire form. With private false it ignores private
// members and refuses symmetric keys.
func (w *jwk) key(private bool) (*Key, error) {
	if w.Use != "" && w.Use != "sig" {
		return nil, fmt.Errorf("%w: use %q", errNotSupported, w.Use)
	}
	alg := Algorithm(w.Alg)
	if alg == Ed25519 && w.Kty == "OKP" {
		alg = EdDSA // RFC 9864 §2.2: the fully-specified name of the same signature
	}
	var material any
	switch w.Kty {
	case "EC":
		if w.Crv != "P-256" {
			return nil, fmt.Errorf("%w: curve %q (only P-256)", errNotSupported, w.Crv)
		}
		x, err := b64decode("x", w.X)
		if err != nil {
			return nil, err
		}
		y, err := b64decode("y", w.Y)
		if err != nil {
			return nil, err
		}
		if len(x) != 32 || len(y) != 32 {
			return nil, errors.New("keys: EC JWK coordinates must be 32 bytes each")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("keys: EC JWK: %w", err)
		}
		material = pub
		if private && w.D != "" {
			d, err := b64decode("d", w.D)
			if err != nil {
				return nil, err
			}
			priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
			if err != nil {
				return nil, fmt.Errorf("keys: EC JWK private part: %w", err)
			}
			if !priv.PublicKey.Equal(pub) {
				return nil, errors.New("keys: EC JWK private part does not match x and y")
			}
			material = priv
		}
		if alg == "" {
			alg = ES256
		}
	case "OKP":
		if w.Crv != "Ed25519" {
			return nil, fmt.Errorf("%w: curve %q (only Ed25519)", errNotSupported, w.Crv)
		}
		x, err := b64decode("x", w.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, errors.New("keys: Ed25519 JWK x must be 32 bytes")
		}
		material = ed25519.PublicKey(x)
		if private && w.D != "" {
			d, err := b64decode("d", w.D)
			if err != nil {
				return nil, err
			}
			if len(d) != ed25519.SeedSize {
				return nil, errors.New("keys: Ed25519 JWK d must be 32 bytes")
			}
			priv := ed25519.NewKeyFromSeed(d)
			if !priv.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(x)) {
				return nil, errors.New("keys: Ed25519 JWK private part does not match x")
			}
			material = priv
		}
		if alg == "" {
			alg = EdDSA
		}
	case "RSA":
		n, err := b64int("n", w.N)
		if err != nil {
			return nil, err
		}
		e, err := b64int("e", w.E)
		if err != nil {
			return nil, err
		}
		if e.BitLen() > 31 {
			return nil, errors.New("keys: RSA JWK exponent too large")
		}
		pub := &rsa.PublicKey{N: n, E: int(e.Int64())}
		material = pub
		if private && w.D != "" {
			priv, err := w.rsaPrivate(pub)
			if err != nil {
				return nil, err
			}
			material = priv
		}
		if alg == "" {
			alg = RS256
		}
	case "oct":
		if !private {
			return nil, fmt.Errorf("%w: symmetric keys are never taken from a JWKS", errNotSupported)
		}
		k, err := b64decode("k", w.K)
		if err != nil {
			return nil, err
		}
		material = k
		if alg == "" {
			alg = HS256
		}
	default:
		return nil, fmt.Errorf("%w: kty %q", errNotSupported, w.Kty)
	}
	if _, err := ParseAlgorithm(string(alg)); err != nil {
		return nil, fmt.Errorf("%w: alg %q", errNotSupported, alg)
	}
	return newKey(alg, material, w.Kid)
}

func (w *jwk) rsaPrivate(pub *rsa.PublicKey) (*rsa.PrivateKey, error) {
	if len(w.Oth) > 0 {
		return nil, errors.New("keys: multi-prime RSA JWKs are not supported")
	}
	d, err := b64int("d", w.D)
	if err != nil {
		return nil, err
	}
	p, err := b64int("p", w.P)
	if err != nil {
		return nil, err
	}
	q, err := b64int("q", w.Q)
	if err != nil {
		return nil, err
	}
	priv := &rsa.PrivateKey{PublicKey: *pub, D: d, Primes: []*big.Int{p, q}}
	if err := priv.Validate(); err != nil {
		return nil, fmt.Errorf("keys: RSA JWK private part: %w", err)
	}
	priv.Precompute()
	return priv, nil
}

// jwks is the JWK Set wire form (RFC 7517 §5).
type jwks struct {
	Keys []jsontext.Value `json:"keys"`
}

// ParseJWKS decodes a JWK Set as published by an issuer, for verification:
// private members are ignored and symmetric keys are never accepted. Keys
// gatehouse does not use (encryption keys, other curves or algorithms) are
// skipped; a malformed key of a supported type, a duplicate kid or a key
// without kid (in a set of more than one) fails the whole set.
func ParseJWKS(data []byte) ([]*Key, error) {
	return parseSet(data, false)
}

func parseSet(data []byte, private bool) ([]*Key, error) {
	var set jwks
	if err := strictUnmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("keys: JWKS is not valid JSON: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New(`keys: JWKS has no "keys" array`)
	}
	out := make([]*Key, 0, len(set.Keys))
	seen := make(map[string]bool, len(set.Keys))
	noKid := 0
	for i, raw := range set.Keys {
		var w jwk
		if err := strictUnmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("keys: JWKS key %d: %w", i, err)
		}
		k, err := w.key(private)
		if errors.Is(err, errNotSupported) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: JWKS key %d: %w", i, err)
		}
		if w.Kid == "" {
			noKid++
		}
		if seen[k.id] {
			return nil, fmt.Errorf("keys: JWKS has kid %q twice", k.id)
		}
		seen[k.id] = true
		out = append(out, k)
	}
	if noKid > 0 && len(out) > 1 {
		return nil, errors.New("keys: JWKS has a signing key with no kid; a set of several signing keys needs one kid per key")
	}
	return out, nil
}

// MarshalJWKS encodes the public keys of ks as a JWK Set. It never writes
// private or symmetric material: HS256 keys are left out.
func MarshalJWKS(ks ...*Key) ([]byte, error) {
	out := struct {
		Keys []*jwk `json:"keys"`
	}{Keys: []*jwk{}}
	for _, k := range ks {
		if k.alg.Symmetric() {
			continue
		}
		w, err := k.toWire(false)
		if err != nil {
			return nil, err
		}
		out.Keys = append(out.Keys, w)
	}
	return json.Marshal(out)
}

// strictUnmarshal decodes untrusted JSON strictly: one value, member names
// matched case-sensitively and never twice, valid UTF-8.
func strictUnmarshal(data []byte, v any) error { return jsonv2.Unmarshal(data, v) }
