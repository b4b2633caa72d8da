package keys_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// hsSecret is the shared secret of the HS256 keys of these tests.
var hsSecret = []byte("0123456789abcdef0123456789abcdef")

// signKeys returns one private key per algorithm, HS256 with hsSecret.
func signKeys(t *testing.T) []*keys.Key {
	t.Helper()
	hs, err := keys.New(keys.HS256, hsSecret, keys.WithID("hs"))
	if err != nil {
		t.Fatal(err)
	}
	return []*keys.Key{testKey(t, keys.ES256), testKey(t, keys.EdDSA), testKey(t, keys.RS256), testKey(t, keys.PS256), hs}
}

// stdlibVerify checks sig over input with the standard library directly,
// as RFC 7518 defines each algorithm, without Key.Verify.
func stdlibVerify(k *keys.Key, input string, sig []byte) bool {
	h := sha256.Sum256([]byte(input))
	switch k.Algorithm() {
	case keys.ES256:
		if len(sig) != 64 {
			return false
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(k.Public().(*ecdsa.PublicKey), h[:], r, s)
	case keys.EdDSA:
		return ed25519.Verify(k.Public().(ed25519.PublicKey), []byte(input), sig)
	case keys.RS256:
		return rsa.VerifyPKCS1v15(k.Public().(*rsa.PublicKey), crypto.SHA256, h[:], sig) == nil
	case keys.PS256:
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		return rsa.VerifyPSS(k.Public().(*rsa.PublicKey), crypto.SHA256, h[:], sig, opts) == nil
	case keys.HS256:
		mac := hmac.New(sha256.New, hsSecret)
		mac.Write([]byte(input))
		return hmac.Equal(mac.Sum(nil), sig)
	}
	return false
}

// Every signature is the RFC 7518 one: the standard library's own check
// accepts it.
func TestSignIsTheRFC7518Signature(t *testing.T) {
	for _, k := range signKeys(t) {
		t.Run(string(k.Algorithm()), func(t *testing.T) {
			sig, err := k.Sign(signingInput)
			if err != nil {
				t.Fatal(err)
			}
			if !stdlibVerify(k, signingInput, sig) {
				t.Fatal("the standard library does not verify the signature")
			}
		})
	}
}

// ES256 pads R and S to 32 bytes each: a signature whose R or S is short
// (one in 128 has a leading zero byte) is still 64 bytes and verifies.
func TestSignES256PadsRAndS(t *testing.T) {
	k := testKey(t, keys.ES256)
	padded := 0
	for i := 0; i < 2000 && padded < 3; i++ {
		sig, err := k.Sign(signingInput)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != 64 {
			t.Fatalf("signature of %d bytes", len(sig))
		}
		if sig[0] != 0 && sig[32] != 0 {
			continue
		}
		padded++
		if !stdlibVerify(k, signingInput, sig) || k.Verify([]byte(signingInput), sig) != nil {
			t.Fatalf("a signature with a short R or S does not verify: %x", sig)
		}
	}
	if padded == 0 {
		t.Fatal("no signature with a leading zero byte in 2000 (odds about 1e-7)")
	}
}

func TestSignWithoutPrivateKey(t *testing.T) {
	pub := testKey(t, keys.ES256).PublicKey()
	if _, err := pub.Sign(signingInput); !errors.Is(err, keys.ErrNoPrivateKey) {
		t.Fatalf("Sign with a public key = %v, want ErrNoPrivateKey", err)
	}
}

// A token signed by keys.Sign (through token.Issuer) verifies with the
// token verifier and with go-jose, an independent implementation; any
// change to its header, payload or signature is refused.
func TestSignRoundTripAndForgery(t *testing.T) {
	const iss, aud = "https://auth.example", "orders"
	b64 := base64.RawURLEncoding
	for _, k := range signKeys(t) {
		alg := k.Algorithm()
		t.Run(string(alg), func(t *testing.T) {
			issuer, err := token.NewIssuer(iss, k, token.WithAccessTokenTTL(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := issuer.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{aud}, Roles: []string{"user"}})
			if err != nil {
				t.Fatal(err)
			}
			verifyKey := k.PublicKey()
			if alg.Symmetric() {
				verifyKey = k
			}
			src, _ := keys.NewStatic(verifyKey)
			v, err := token.NewVerifier(src, iss, aud, token.WithAlgorithms(alg), token.WithCacheSize(0))
			if err != nil {
				t.Fatal(err)
			}
			if c, err := v.Verify(t.Context(), raw); err != nil || c.Subject != "alice" {
				t.Fatalf("the verifier refuses a token just signed: %v", err)
			}
			jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatalf("go-jose: %v", err)
			}
			var joseKey any = k.Public()
			if alg.Symmetric() {
				joseKey = hsSecret
			}
			if _, err := jws.Verify(joseKey); err != nil {
				t.Fatalf("go-jose refuses the signature: %v", err)
			}

			h, p, s := splitJWS(t, raw)
			header, _ := b64.DecodeString(h)
			payload, _ := b64.DecodeString(p)
			sig, _ := b64.DecodeString(s)
			flipped := append([]byte{}, sig...)
			flipped[len(flipped)/2] ^= 0x01
			other, err := issuer.AccessToken(token.Claims{Subject: "mallory", Audience: token.Audience{aud}})
			if err != nil {
				t.Fatal(err)
			}
			_, _, otherSig := splitJWS(t, other)
			tests := []struct {
				name string
				raw  string
				want error
			}{
				{"payload: another subject", h + "." + b64.EncodeToString([]byte(strings.Replace(string(payload), `"alice"`, `"admin"`, 1))) + "." + s, token.ErrSignature},
				{"payload: a role added", h + "." + b64.EncodeToString([]byte(strings.Replace(string(payload), `["user"]`, `["user","admin"]`, 1))) + "." + s, token.ErrSignature},
				{"header: a member added", b64.EncodeToString([]byte(strings.Replace(string(header), `{`, `{"x":1,`, 1))) + "." + p + "." + s, token.ErrSignature},
				{"header: alg none", b64.EncodeToString([]byte(strings.Replace(string(header), `"`+string(alg)+`"`, `"none"`, 1))) + "." + p + "." + s, token.ErrAlgorithm},
				{"header: another alg", b64.EncodeToString([]byte(strings.Replace(string(header), `"`+string(alg)+`"`, `"`+string(otherAlg(alg))+`"`, 1))) + "." + p + "." + s, token.ErrAlgorithm},
				{"signature: one bit flipped", h + "." + p + "." + b64.EncodeToString(flipped), token.ErrSignature},
				{"signature: of another token", h + "." + p + "." + otherSig, token.ErrSignature},
				{"signature: truncated", h + "." + p + "." + b64.EncodeToString(sig[:len(sig)-1]), token.ErrSignature},
				{"signature: empty", h + "." + p + ".", token.ErrSignature},
			}
			for _, tt := range tests {
				if _, err := v.Verify(t.Context(), tt.raw); !errors.Is(err, tt.want) {
					t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
				}
			}
		})
	}
}

func splitJWS(t *testing.T, raw string) (header, payload, sig string) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %d parts", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// otherAlg is an algorithm that is not alg.
func otherAlg(alg keys.Algorithm) keys.Algorithm {
	if alg == keys.ES256 {
		return keys.RS256
	}
	return keys.ES256
}
