package token_test

// What a verified token, cached or not, does not outlive: its revocation,
// ForgetID, its exp, and the retirement or removal of its key.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

type revoker struct {
	mu      sync.Mutex
	revoked map[string]bool
	err     error
	calls   int
}

func (r *revoker) Revoked(_ context.Context, c *token.Claims) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return r.revoked[c.ID], r.err
}

func TestRevocationHookAlsoOnCacheHits(t *testing.T) {
	r := &revoker{revoked: map[string]bool{}}
	f := newFixture(t, token.WithRevoker(r))
	raw := forge(t, f.key, goodHeader(f.key), goodClaims())
	ctx := context.Background()
	if _, err := f.v.Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := f.v.Verify(ctx, raw); err != nil { // cache hit
		t.Fatal(err)
	}
	r.mu.Lock()
	r.revoked["j1"] = true
	r.mu.Unlock()
	if _, err := f.v.Verify(ctx, raw); !errors.Is(err, token.ErrRevoked) {
		t.Fatalf("revoked token served from cache: %v", err)
	}
	r.mu.Lock()
	r.revoked["j1"], r.err = false, errors.New("redis down")
	r.mu.Unlock()
	_, err := f.v.Verify(ctx, raw)
	if !errors.Is(err, token.ErrUnavailable) {
		t.Fatalf("revocation backend down: %v", err)
	}
	if _, status := token.ErrorCode(err); status != 503 {
		t.Fatalf("unavailable maps to %d, want 503", status)
	}
}

func TestCacheHonoursExpiryAndForget(t *testing.T) {
	now := testNow
	key := mustKey(t, keys.ES256, "k1")
	static, _ := keys.NewStatic(key)
	v, _ := token.NewVerifier(static, testIssuer, testAudience, token.WithClock(func() time.Time { return now }))
	raw := forge(t, key, goodHeader(key), goodClaims())
	ctx := context.Background()
	first, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	second, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Fatal("second verification did not come from the cache")
	}
	v.ForgetID("j1")
	third, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if third == first {
		t.Fatal("ForgetID did not drop the cached entry")
	}
	now = testNow.Add(600*time.Second + token.DefaultLeeway + time.Second)
	if _, err := v.Verify(ctx, raw); !errors.Is(err, token.ErrExpired) {
		t.Fatalf("cached token past exp: %v", err)
	}
}

func TestRotatedOutKeyVerifiesUntilRetirement(t *testing.T) {
	now := testNow
	clk := func() time.Time { return now }
	old := mustKey(t, keys.ES256, "old")
	next := mustKey(t, keys.ES256, "new")
	retention := time.Hour + token.DefaultLeeway
	set, err := keys.NewSet(old, retention, keys.WithClock(clk))
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := token.NewIssuer(testIssuer, set, token.WithClock(clk), token.WithAccessTokenTTL(time.Hour))
	oldToken, err := iss.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{testAudience}})
	if err != nil {
		t.Fatal(err)
	}
	for _, cacheSize := range []int{0, 100} {
		v, _ := token.NewVerifier(set, testIssuer, testAudience, token.WithClock(clk), token.WithCacheSize(cacheSize))
		now = testNow
		if _, err := v.Verify(context.Background(), oldToken); err != nil {
			t.Fatalf("cache %d: before rotation: %v", cacheSize, err)
		}
		if cacheSize == 0 {
			if err := set.Rotate(next); err != nil {
				t.Fatal(err)
			}
		}
		newToken, err := iss.AccessToken(token.Claims{Subject: "bob", Audience: token.Audience{testAudience}})
		if err != nil {
			t.Fatal(err)
		}
		if hdr, _, _ := token.ParseUnverified(newToken); !strings.Contains(string(hdr), `"kid":"new"`) {
			t.Fatalf("new tokens not signed by the new key: %s", hdr)
		}
		// Just inside both the token's exp + leeway and the key's retention.
		now = testNow.Add(time.Hour + token.DefaultLeeway - time.Second)
		if _, err := v.Verify(context.Background(), oldToken); err != nil {
			t.Fatalf("cache %d: old key inside retention: %v", cacheSize, err)
		}
		now = testNow.Add(retention + time.Second)
		_, err = v.Verify(context.Background(), oldToken)
		if !errors.Is(err, token.ErrUnknownKey) && !errors.Is(err, token.ErrExpired) {
			t.Fatalf("cache %d: old key after retention: %v", cacheSize, err)
		}
		if _, err := set.Key(context.Background(), "old"); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Fatalf("old key still in the set after retention: %v", err)
		}
	}
}

// A token whose key leaves the source must not keep verifying from the
// cache, even before it expires.
func TestCacheDropsTokensOfRemovedKeys(t *testing.T) {
	now := testNow
	clk := func() time.Time { return now }
	old := mustKey(t, keys.ES256, "old")
	set, _ := keys.NewSet(old, time.Minute, keys.WithClock(clk))
	v, _ := token.NewVerifier(set, testIssuer, testAudience, token.WithClock(clk))
	raw := forge(t, old, goodHeader(old), goodClaims()) // exp +10m
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	set.Rotate(mustKey(t, keys.ES256, "new"))
	now = testNow.Add(2 * time.Minute) // key retired (retention 1m), token not expired
	if _, err := v.Verify(context.Background(), raw); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("cached token of a removed key: %v", err)
	}
}
