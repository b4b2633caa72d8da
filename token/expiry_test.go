package token_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// TestExpiryOnTheDefaultClock: with no WithClock, an issuer and a verifier
// read time.Now, which is the bubble's clock in a synctest bubble: a
// token verifies (from the cache too) until its exp plus the leeway, and
// is refused after it, however often it was seen before.
func TestExpiryOnTheDefaultClock(t *testing.T) {
	for _, cacheSize := range []int{0, 100} {
		synctest.Test(t, func(t *testing.T) {
			key := mustKey(t, keys.ES256, "k")
			iss, _ := token.NewIssuer(testIssuer, key, token.WithAccessTokenTTL(time.Minute))
			src, _ := keys.NewStatic(key)
			v, err := token.NewVerifier(src, testIssuer, testAudience, token.WithCacheSize(cacheSize))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := iss.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{testAudience}})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for range 3 {
				if _, err := v.Verify(ctx, raw); err != nil {
					t.Fatalf("cache %d: a fresh token: %v", cacheSize, err)
				}
			}
			time.Sleep(time.Minute + token.DefaultLeeway)
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Fatalf("cache %d: at exp plus the leeway: %v", cacheSize, err)
			}
			time.Sleep(time.Nanosecond)
			if _, err := v.Verify(ctx, raw); !errors.Is(err, token.ErrExpired) {
				t.Fatalf("cache %d: past exp plus the leeway: %v, want ErrExpired", cacheSize, err)
			}
		})
	}
}
