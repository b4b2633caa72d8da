package token_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// benchClaims is a realistic access token: a user of an organization with
// roles, groups and scopes.
func benchClaims() token.Claims {
	return token.Claims{
		Subject:  "7f3c2a9e-4b1d-4e8a-9c6f-1a2b3c4d5e6f",
		Audience: token.Audience{"orders"},
		ClientID: "spa",
		Scope:    "openid profile orders:read orders:write",
		Email:    "alice@acme.example",
		Name:     "Alice Liddell",
		Roles:    []string{"admin", "user"},
		Groups:   []string{"admin"},
		Org:      "acme",
	}
}

// floor is the bare standard-library signature check of the signing input,
// hashing included: the least any verifier must spend.
func floor(b *testing.B, k *keys.Key, raw string) {
	check := floorCheck(b, k, raw)
	b.ReportAllocs()
	for b.Loop() {
		if !check() {
			b.Fatal("floor: signature does not verify")
		}
	}
}

func floorCheck(b *testing.B, k *keys.Key, raw string) func() bool {
	i := strings.LastIndexByte(raw, '.')
	input := []byte(raw[:i])
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		b.Fatal(err)
	}
	var check func() bool
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		check = func() bool {
			h := sha256.Sum256(input)
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			return ecdsa.Verify(pub, h[:], r, s)
		}
	case ed25519.PublicKey:
		check = func() bool { return ed25519.Verify(pub, input, sig) }
	case *rsa.PublicKey:
		check = func() bool {
			h := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
		}
	}
	return check
}

func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []keys.Algorithm{keys.ES256, keys.EdDSA, keys.RS256} {
		key, err := keys.Generate(alg)
		if err != nil {
			b.Fatal(err)
		}
		iss, err := token.NewIssuer("https://auth.example", key, token.WithAccessTokenTTL(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		raw, err := iss.AccessToken(benchClaims())
		if err != nil {
			b.Fatal(err)
		}
		src, err := keys.NewStatic(key)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(alg)+"/floor", func(b *testing.B) { floor(b, key, raw) })
		b.Run(string(alg)+"/full", func(b *testing.B) {
			v, err := token.NewVerifier(src, "https://auth.example", "orders", token.WithCacheSize(0))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(alg)+"/cached", func(b *testing.B) {
			v, err := token.NewVerifier(src, "https://auth.example", "orders")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Reference: go-jose/v4's jwt package verifying the same token with
		// its usual checks (iss, aud, exp with leeway; no typ check).
		b.Run(string(alg)+"/go-jose", func(b *testing.B) {
			pub := key.Public()
			expected := josejwt.Expected{Issuer: "https://auth.example", AnyAudience: josejwt.Audience{"orders"}}
			algs := []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}
			b.ReportAllocs()
			for b.Loop() {
				tok, err := josejwt.ParseSigned(raw, algs)
				if err != nil {
					b.Fatal(err)
				}
				var c josejwt.Claims
				if err := tok.Claims(pub, &c); err != nil {
					b.Fatal(err)
				}
				if err := c.ValidateWithLeeway(expected, 30*time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyRatio alternates the floor and the full verification in
// the same loop, so that load on a shared machine hits both alike, and
// reports full/floor: the cost of everything but the signature check.
func BenchmarkVerifyRatio(b *testing.B) {
	ctx := context.Background()
	for _, alg := range []keys.Algorithm{keys.ES256, keys.EdDSA, keys.RS256} {
		b.Run(string(alg), func(b *testing.B) {
			key, err := keys.Generate(alg)
			if err != nil {
				b.Fatal(err)
			}
			iss, _ := token.NewIssuer("https://auth.example", key, token.WithAccessTokenTTL(time.Hour))
			raw, err := iss.AccessToken(benchClaims())
			if err != nil {
				b.Fatal(err)
			}
			src, _ := keys.NewStatic(key)
			v, _ := token.NewVerifier(src, "https://auth.example", "orders", token.WithCacheSize(0))
			check := floorCheck(b, key, raw)
			var floorTime, fullTime time.Duration
			for b.Loop() {
				t0 := time.Now()
				if !check() {
					b.Fatal("floor failed")
				}
				t1 := time.Now()
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
				fullTime += time.Since(t1)
				floorTime += t1.Sub(t0)
			}
			b.ReportMetric(float64(fullTime)/float64(floorTime), "full/floor")
		})
	}
}
