package token_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

func TestVerifyAcceptsAValidToken(t *testing.T) {
	f := newFixture(t)
	raw := forge(t, f.key, goodHeader(f.key), goodClaims())
	c, err := f.v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if c.Subject != "secret-subject-value" || c.ClientID != "spa" || !c.HasScope("orders:read") || c.ID != "j1" {
		t.Fatalf("claims not decoded: %+v", c)
	}
	if c.ExpiresAt.Time().Unix() != testNow.Unix()+600 {
		t.Fatalf("exp = %v", c.ExpiresAt)
	}
}

func TestVerifyLeewayEdges(t *testing.T) {
	f := newFixture(t)
	h := goodHeader(f.key)
	for _, tt := range []struct {
		name string
		p    map[string]any
	}{
		{"expired within leeway", with(goodClaims(), "exp", testNow.Unix()-30)},
		{"nbf within leeway", with(goodClaims(), "nbf", testNow.Unix()+30)},
		{"iat within leeway", with(goodClaims(), "iat", testNow.Unix()+30)},
		{"fractional exp", with(goodClaims(), "exp", float64(testNow.Unix())+600.5)},
		{"audience list with ours", with(goodClaims(), "aud", []string{"payments", testAudience})},
		{"typ application/at+jwt", with(goodClaims())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hh := h
			if tt.name == "typ application/at+jwt" {
				hh = with(h, "typ", "application/AT+JWT")
			}
			if _, err := f.v.Verify(context.Background(), forge(t, f.key, hh, tt.p)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVerifyAllowList(t *testing.T) {
	f := newFixture(t, token.WithAlgorithms(keys.EdDSA))
	_, err := f.v.Verify(context.Background(), forge(t, f.key, goodHeader(f.key), goodClaims()))
	if !errors.Is(err, token.ErrAlgorithm) {
		t.Fatalf("ES256 token with an EdDSA-only verifier: %v", err)
	}
}

func TestHS256IsOffByDefault(t *testing.T) {
	secret := mustKey(t, keys.HS256, "shared")
	src, _ := keys.NewStatic(secret)
	raw := forge(t, secret, goodHeader(secret), goodClaims())

	v, _ := token.NewVerifier(src, testIssuer, testAudience, token.WithClock(clock))
	if _, err := v.Verify(context.Background(), raw); !errors.Is(err, token.ErrAlgorithm) {
		t.Fatalf("HS256 without opting in: %v", err)
	}
	v, _ = token.NewVerifier(src, testIssuer, testAudience, token.WithClock(clock), token.WithAlgorithms(keys.HS256))
	if _, err := v.Verify(context.Background(), raw); err != nil {
		t.Fatalf("HS256 opted in: %v", err)
	}
	if _, err := v.Verify(context.Background(), forge(t, mustKey(t, keys.HS256, "shared"), goodHeader(secret), goodClaims())); !errors.Is(err, token.ErrSignature) {
		t.Fatalf("HS256 with another secret: %v", err)
	}
}

func TestRequiredClaims(t *testing.T) {
	f := newFixture(t, token.WithRequiredClaims("sub", "org", "tenant_tier"))
	h := goodHeader(f.key)
	_, err := f.v.Verify(context.Background(), forge(t, f.key, h, goodClaims()))
	if !errors.Is(err, token.ErrMissingClaim) || !strings.Contains(err.Error(), "org") {
		t.Fatalf("missing org: %v", err)
	}
	_, err = f.v.Verify(context.Background(), forge(t, f.key, h, with(goodClaims(), "org", "acme")))
	if !errors.Is(err, token.ErrMissingClaim) || !strings.Contains(err.Error(), "tenant_tier") {
		t.Fatalf("missing custom claim: %v", err)
	}
	c, err := f.v.Verify(context.Background(), forge(t, f.key, h, with(goodClaims(), "org", "acme", "tenant_tier", "gold")))
	if err != nil {
		t.Fatalf("all present: %v", err)
	}
	var tier string
	if ok, err := c.Custom("tenant_tier", &tier); !ok || err != nil || tier != "gold" {
		t.Fatalf("Custom = %v %v %q", ok, err, tier)
	}
}

func TestVerifyIsSafeForConcurrentUse(t *testing.T) {
	f := newFixture(t)
	tokens := make([]string, 8)
	for i := range tokens {
		tokens[i] = forge(t, f.key, goodHeader(f.key), with(goodClaims(), "jti", rand.Text()))
	}
	bad := forge(t, f.impostor, goodHeader(f.key), goodClaims())
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := f.v.Verify(context.Background(), tokens[(g+i)%len(tokens)]); err != nil {
					t.Error(err)
					return
				}
				if _, err := f.v.Verify(context.Background(), bad); !errors.Is(err, token.ErrSignature) {
					t.Errorf("bad token: %v", err)
					return
				}
				if i%10 == 0 {
					f.v.ForgetID("j1")
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewVerifierRefusesUnsafeConfiguration(t *testing.T) {
	src, _ := keys.NewStatic(mustKey(t, keys.ES256, "k"))
	for _, tt := range []struct {
		name     string
		src      keys.Source
		iss, aud string
		opts     []token.VerifierOption
	}{
		{"no source", nil, testIssuer, testAudience, nil},
		{"no issuer", src, "", testAudience, nil},
		{"no audience", src, testIssuer, "", nil},
		{"empty allow-list", src, testIssuer, testAudience, []token.VerifierOption{token.WithAlgorithms()}},
		{"alg none", src, testIssuer, testAudience, []token.VerifierOption{token.WithAlgorithms("none")}},
		{"huge leeway", src, testIssuer, testAudience, []token.VerifierOption{token.WithLeeway(time.Hour)}},
		{"tiny max size", src, testIssuer, testAudience, []token.VerifierOption{token.WithMaxSize(10)}},
		{"no types", src, testIssuer, testAudience, []token.VerifierOption{token.WithTypes()}},
		{"nil clock", src, testIssuer, testAudience, []token.VerifierOption{token.WithClock(nil)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := token.NewVerifier(tt.src, tt.iss, tt.aud, tt.opts...); err == nil {
				t.Fatal("NewVerifier accepted it")
			}
		})
	}
}

func TestContextCarriesTheToken(t *testing.T) {
	ctx := context.Background()
	if _, _, ok := token.FromContext(ctx); ok {
		t.Fatal("empty context holds a token")
	}
	c := &token.Claims{Subject: "alice"}
	ctx = token.NewContext(ctx, "raw-token", c)
	raw, got, ok := token.FromContext(ctx)
	if !ok || raw != "raw-token" || got != c {
		t.Fatalf("FromContext = %q %v %v", raw, got, ok)
	}
}

// TestVerifyEd25519HeaderName: RFC 9864 names EdDSA over Ed25519 "Ed25519";
// an EdDSA key verifies a header that names either, and no other key does.
func TestVerifyEd25519HeaderName(t *testing.T) {
	ed := mustKey(t, keys.EdDSA, "ed")
	ec := mustKey(t, keys.ES256, "ec")
	src, _ := keys.NewStatic(ed, ec)
	v, err := token.NewVerifier(src, testIssuer, testAudience, token.WithClock(clock), token.WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		key  *keys.Key
		alg  string
		want error
	}{
		{"EdDSA key, alg EdDSA", ed, "EdDSA", nil},
		{"EdDSA key, alg Ed25519", ed, "Ed25519", nil},
		{"EdDSA key, alg ed25519", ed, "ed25519", token.ErrAlgorithm},
		{"EdDSA key, alg Ed448", ed, "Ed448", token.ErrAlgorithm},
		{"ES256 key, alg Ed25519", ec, "Ed25519", token.ErrAlgorithm},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), forge(t, c.key, with(goodHeader(c.key), "alg", c.alg), goodClaims()))
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
	// The allow-list names key algorithms: EdDSA off refuses Ed25519 too.
	v, _ = token.NewVerifier(src, testIssuer, testAudience, token.WithClock(clock), token.WithAlgorithms(keys.ES256))
	if _, err := v.Verify(context.Background(), forge(t, ed, with(goodHeader(ed), "alg", "Ed25519"), goodClaims())); !errors.Is(err, token.ErrAlgorithm) {
		t.Fatalf("Ed25519 header with EdDSA off the allow-list: %v", err)
	}
}
