package keys_test

// The keys New, Generate and the parsers refuse (weak or mismatched
// material, unknown algorithms, malformed or non-canonical JWKs), JWK member
// names matched case-sensitively, and the JWK encoding helpers the tests of
// this package share.

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/keys"
)

// ecJWK returns the public JWK members of a P-256 key.
func ecJWK(t testing.TB, k *keys.Key) map[string]any {
	t.Helper()
	b, err := k.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	return jsonObject(t, b)
}

func TestRefusals(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)

	ec := ecJWK(t, testKey(t, keys.ES256))
	other := ecJWK(t, newKey(t, keys.ES256, "other"))
	ed := ecJWK(t, testKey(t, keys.EdDSA))
	edOther := ecJWK(t, newKey(t, keys.EdDSA, "other"))
	rsaPub := jsonObject(t, mustPublicJWK(t, testKey(t, keys.RS256)))
	rsaPriv := ecJWK(t, testKey(t, keys.RS256))

	jwk := func(m map[string]any, set ...string) []byte {
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		for i := 0; i+1 < len(set); i += 2 {
			if set[i+1] == "" {
				delete(c, set[i])
			} else {
				c[set[i]] = set[i+1]
			}
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	x := ec["x"].(string)
	ecPub := `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + ec["y"].(string) + `"}`

	tests := []struct {
		name  string
		do    func() error
		is    error    // errors.Is target, if any
		parts []string // substrings of the message
	}{
		{"HS256 secret of 31 bytes", func() error { _, err := keys.New(keys.HS256, make([]byte, 31)); return err },
			keys.ErrWeakKey, []string{"32 bytes", "got 31"}},
		{"HS256 JWK of 31 bytes", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"oct","k":"` + b64(make([]byte, 31)) + `"}`))
			return err
		}, keys.ErrWeakKey, []string{"32 bytes"}},
		{"RSA 1024 bits for RS256", func() error { _, err := keys.New(keys.RS256, rsa1024); return err },
			keys.ErrWeakKey, []string{"2048"}},
		{"RSA 1024 bits public for PS256", func() error { _, err := keys.New(keys.PS256, &rsa1024.PublicKey); return err },
			keys.ErrWeakKey, []string{"2048"}},
		{"RSA 1024 bits generated", func() error { _, err := keys.Generate(keys.RS256, keys.WithRSABits(1024)); return err },
			keys.ErrWeakKey, nil},
		{"RSA 1024 bits JWK", func() error {
			_, err := keys.ParseJWK(mustPublicJWKOf(t, &rsa1024.PublicKey))
			return err
		}, keys.ErrWeakKey, nil},
		{"P-384 key for ES256", func() error { _, err := keys.New(keys.ES256, p384); return err },
			nil, []string{"P-256", "P-384"}},
		{"P-256 key for EdDSA", func() error { _, err := keys.New(keys.EdDSA, testKey(t, keys.ES256).Public()); return err },
			nil, []string{"ECDSA", "EdDSA"}},
		{"Ed25519 key declared RS256", func() error { _, err := keys.New(keys.RS256, edPriv); return err },
			nil, []string{"Ed25519", "RS256"}},
		{"Ed25519 JWK declared RS256", func() error { _, err := keys.ParseJWK(jwk(ed, "alg", "RS256")); return err },
			nil, []string{"Ed25519", "RS256"}},
		{"secret declared ES256", func() error { _, err := keys.New(keys.ES256, make([]byte, 32)); return err },
			nil, []string{"secret", "ES256"}},
		{"unknown algorithm", func() error { _, err := keys.Generate("ES512"); return err },
			nil, []string{`"ES512"`, "ES256, EdDSA"}},
		{"unknown algorithm for New", func() error { _, err := keys.New("RS384", rsa1024); return err },
			nil, []string{"RS384"}},
		{"unknown algorithm in WithAlgorithm", func() error { _, err := keys.ParsePEM(nil, keys.WithAlgorithm("HS512")); return err },
			nil, []string{"HS512"}},
		{"none", func() error { _, err := keys.Generate("none"); return err },
			nil, []string{`"none"`}},
		{"none in a JWK", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"oct","alg":"none","k":"` + strings.Repeat("A", 43) + `"}`))
			return err
		},
			nil, []string{`"none"`}},
		{"inconsistent RSA private key", func() error {
			good := signerOf(t, testKey(t, keys.RS256)).(*rsa.PrivateKey)
			bad := &rsa.PrivateKey{PublicKey: good.PublicKey, D: good.D, Primes: []*big.Int{good.Primes[0], big.NewInt(7)}}
			_, err := keys.New(keys.RS256, bad)
			return err
		}, nil, []string{"invalid RSA private key"}},
		{"ECDSA key without curve", func() error { _, err := keys.New(keys.ES256, &ecdsa.PublicKey{}); return err },
			nil, []string{"without curve"}},
		{"nil material", func() error { _, err := keys.New(keys.ES256, nil); return err },
			nil, []string{"no key material"}},
		{"EC x of 31 bytes", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"EC","crv":"P-256","x":"` + b64(unb64(t, x)[1:]) + `","y":"` + ec["y"].(string) + `"}`))
			return err
		}, nil, []string{"32 bytes"}},
		{"EC y of 33 bytes", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + b64(append([]byte{0}, unb64(t, ec["y"].(string))...)) + `"}`))
			return err
		}, nil, []string{"32 bytes"}},
		{"EC point not on the curve", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + other["y"].(string) + `"}`))
			return err
		}, nil, []string{"EC JWK"}},
		{"EC P-384 JWK", func() error { _, err := keys.ParseJWK(jwk(ec, "crv", "P-384")); return err },
			nil, []string{"P-384"}},
		{"EC JWK declared PS256", func() error { _, err := keys.ParseJWK([]byte(ecPub[:len(ecPub)-1] + `,"alg":"PS256"}`)); return err },
			nil, []string{"ECDSA", "PS256"}},
		{"RSA n with a leading zero", func() error {
			_, err := keys.ParseJWK(jwk(rsaPub, "n", b64(append([]byte{0}, unb64(t, rsaPub["n"].(string))...))))
			return err
		}, nil, []string{`"n"`, "minimal"}},
		{"RSA e with a leading zero", func() error { _, err := keys.ParseJWK(jwk(rsaPub, "e", "AAEAAQ")); return err },
			nil, []string{`"e"`, "minimal"}},
		{"RSA even exponent", func() error { _, err := keys.ParseJWK(jwk(rsaPub, "e", "AQAC")); return err },
			nil, []string{"exponent"}},
		{"RSA exponent too large", func() error { _, err := keys.ParseJWK(jwk(rsaPub, "e", "AQAAAAAB")); return err },
			nil, []string{"exponent"}},
		{"RSA private part of another key", func() error {
			_, err := keys.ParseJWK(jwk(ecJWK(t, newKey(t, keys.RS256, "other")), "n", rsaPriv["n"].(string)))
			return err
		}, nil, []string{"RSA JWK private part"}},
		{"RSA multi-prime", func() error {
			_, err := keys.ParseJWK([]byte(strings.TrimSuffix(string(jwk(rsaPriv)), "}") + `,"oth":[]}`))
			return err
		},
			nil, []string{"multi-prime"}},
		{"EC private part not matching", func() error { _, err := keys.ParseJWK(jwk(ec, "d", other["d"].(string))); return err },
			nil, []string{"does not match"}},
		{"EC private part out of range", func() error {
			_, err := keys.ParseJWK(jwk(ec, "d", "_____________________________________________w"))
			return err
		}, nil, []string{"EC JWK private part"}},
		{"Ed25519 private part not matching", func() error { _, err := keys.ParseJWK(jwk(ed, "d", edOther["d"].(string))); return err },
			nil, []string{"does not match"}},
		{"Ed25519 x of 31 bytes", func() error {
			_, err := keys.ParseJWK(jwk(ed, "x", b64(unb64(t, ed["x"].(string))[1:]), "d", ""))
			return err
		},
			nil, []string{"32 bytes"}},
		{"duplicate member names", func() error {
			_, err := keys.ParseJWK([]byte(ecPub[:len(ecPub)-1] + `,"crv":"P-256"}`))
			return err
		}, nil, []string{"duplicate"}},
		{"duplicate member kid", func() error {
			_, err := keys.ParseJWK([]byte(`{"kid":"a",` + ecPub[1:len(ecPub)-1] + `,"kid":"b"}`))
			return err
		}, nil, []string{"duplicate"}},
		{"trailing garbage", func() error { _, err := keys.ParseJWK([]byte(ecPub + `x`)); return err },
			nil, []string{"not valid JSON"}},
		{"two JSON values", func() error { _, err := keys.ParseJWK([]byte(ecPub + ecPub)); return err },
			nil, []string{"not valid JSON"}},
		{"padded base64", func() error { _, err := keys.ParseJWK(jwk(ed, "x", ed["x"].(string)+"=", "d", "")); return err },
			nil, []string{`"x"`, "unpadded base64url"}},
		{"non-canonical base64", func() error {
			// 32 bytes take 43 characters, whose last 2 bits must be zero.
			x := []byte(ed["x"].(string))
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			x[len(x)-1] = alphabet[strings.IndexByte(alphabet, x[len(x)-1])^1]
			_, err := keys.ParseJWK(jwk(ed, "x", string(x), "d", ""))
			return err
		}, nil, []string{`"x"`, "unpadded base64url"}},
		{"standard base64", func() error {
			_, err := keys.ParseJWK(jwk(rsaPub, "n", strings.NewReplacer("-", "+", "_", "/").Replace(rsaPub["n"].(string))))
			return err
		}, nil, []string{`"n"`}},
		{"unknown kty", func() error { _, err := keys.ParseJWK([]byte(`{"kty":"XYZ"}`)); return err },
			nil, []string{"XYZ"}},
		{"encryption key", func() error { _, err := keys.ParseJWK(jwk(ec, "use", "enc")); return err },
			nil, []string{"enc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil {
				t.Fatal("succeeded, want an error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %q", err, tt.is)
			}
			for _, p := range tt.parts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not contain %q", err, p)
				}
			}
		})
	}
}

// Member names match case-sensitively (RFC 7517 §4): "Alg" is an unknown
// member, not the alg.
func TestParseJWKCaseSensitive(t *testing.T) {
	b := withMember(t, mustPublicJWK(t, testKey(t, keys.ES256)), "Alg", `"RS256"`)
	b = withMember(t, b, "alg", "")
	k, err := keys.ParseJWK(b)
	if err != nil {
		t.Fatalf("ParseJWK: %v", err)
	}
	if k.Algorithm() != keys.ES256 {
		t.Errorf("alg %s, want ES256 (the default for an EC key)", k.Algorithm())
	}
}

func mustPublicJWK(t testing.TB, k *keys.Key) []byte {
	t.Helper()
	b, err := k.PublicJWK()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustPublicJWKOf encodes an RSA public key as a JWK by hand, for keys that
// keys.New refuses.
func mustPublicJWKOf(t testing.TB, pub *rsa.PublicKey) []byte {
	t.Helper()
	n := b64(pub.N.Bytes())
	return []byte(`{"kty":"RSA","n":"` + n + `","e":"AQAB"}`)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
