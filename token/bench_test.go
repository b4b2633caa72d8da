package token_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

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

// BenchmarkVerifyChurn measures a never-seen token against a verifier
// whose cache is full: filled with size distinct tokens first, then every
// iteration verifies a fresh token (signed in the loop, outside the two
// timings), which the cache must store by evicting another. The uncached
// verifier checks the same token in the same loop, each first every other
// time, so that load on a shared machine hits both alike. new/uncached is
// the ratio of the medians of the two (a preempted iteration does not
// count), the cost of the cache on a miss at that size (goal: at most
// 1.10); mean-ratio is the ratio of the totals.
//
// hit is a token of the full cache seen again, in batches of 64 that
// alternate with batches of its floor: the SHA-256 of the token that names
// it in the cache. hit/sha256 is the ratio of their medians.
func BenchmarkVerifyChurn(b *testing.B) {
	ctx := context.Background()
	key, err := keys.Generate(keys.EdDSA)
	if err != nil {
		b.Fatal(err)
	}
	iss, err := token.NewIssuer("https://auth.example", key, token.WithAccessTokenTTL(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	src, err := keys.NewStatic(key)
	if err != nil {
		b.Fatal(err)
	}
	mint := func() string {
		raw, err := iss.AccessToken(benchClaims())
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	for _, size := range []int{10_000, 100_000} {
		var cached *token.Verifier
		var seen string
		fill := func(b *testing.B) { // once, by the first sub-benchmark run
			if cached != nil {
				return
			}
			cached, err = token.NewVerifier(src, "https://auth.example", "orders", token.WithCacheSize(size))
			if err != nil {
				b.Fatal(err)
			}
			for range size {
				seen = mint()
				if _, err := cached.Verify(ctx, seen); err != nil {
					b.Fatal(err)
				}
			}
		}
		uncached, err := token.NewVerifier(src, "https://auth.example", "orders", token.WithCacheSize(0))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dk/new", size/1000), func(b *testing.B) {
			fill(b)
			var newTimes, plainTimes []time.Duration
			verify := func(v *token.Verifier, raw string) time.Duration {
				t0 := time.Now()
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0)
			}
			odd := false
			for b.Loop() {
				raw := mint() // in ns/op, not in the ratio
				var n, p time.Duration
				if odd = !odd; odd {
					n = verify(cached, raw)
					p = verify(uncached, raw)
				} else { // the other order every other time: neither goes first always
					p = verify(uncached, raw)
					n = verify(cached, raw)
				}
				newTimes, plainTimes = append(newTimes, n), append(plainTimes, p)
			}
			newMedian, plainMedian := median(newTimes), median(plainTimes)
			b.ReportMetric(float64(newMedian)/float64(plainMedian), "new/uncached")
			b.ReportMetric(float64(sum(newTimes))/float64(sum(plainTimes)), "mean-ratio")
			b.ReportMetric(float64(newMedian.Nanoseconds()), "new-ns")
			b.ReportMetric(float64(plainMedian.Nanoseconds()), "uncached-ns")
		})
		b.Run(fmt.Sprintf("%dk/hit", size/1000), func(b *testing.B) {
			fill(b)
			if _, err := cached.Verify(ctx, seen); err != nil { // back in, if evicted
				b.Fatal(err)
			}
			const batch = 64
			var hitTimes, floorTimes []time.Duration
			var sink byte
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				for range batch {
					if _, err := cached.Verify(ctx, seen); err != nil {
						b.Fatal(err)
					}
				}
				t1 := time.Now()
				for range batch {
					h := sha256.Sum256(unsafe.Slice(unsafe.StringData(seen), len(seen))) // as the cache does
					sink ^= h[0]
				}
				hitTimes, floorTimes = append(hitTimes, t1.Sub(t0)), append(floorTimes, time.Since(t1))
			}
			_ = sink
			hit, floor := median(hitTimes), median(floorTimes)
			b.ReportMetric(float64(hit)/float64(floor), "hit/sha256")
			b.ReportMetric(float64(hit.Nanoseconds())/batch, "hit-ns")
			b.ReportMetric(float64(floor.Nanoseconds())/batch, "sha256-ns")
		})
	}
}

// median returns the median of ds (which it sorts).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func sum(ds []time.Duration) (t time.Duration) {
	for _, d := range ds {
		t += d
	}
	return t
}
