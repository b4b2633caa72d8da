package token_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

const (
	testIssuer   = "https://issuer.example"
	testAudience = "orders"
)

var (
	enc     = base64.RawURLEncoding
	testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
)

func clock() time.Time { return testNow }

// fixture is an ES256 key, an unrelated key with the same kid, and a
// verifier for testIssuer/testAudience at testNow.
type fixture struct {
	key      *keys.Key
	impostor *keys.Key
	src      *keys.Static
	v        *token.Verifier
}

func newFixture(t testing.TB, opts ...token.VerifierOption) *fixture {
	t.Helper()
	key := mustKey(t, keys.ES256, "k1")
	impostor := mustKey(t, keys.ES256, "k1")
	src, err := keys.NewStatic(key)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]token.VerifierOption{token.WithClock(clock)}, opts...)
	v, err := token.NewVerifier(src, testIssuer, testAudience, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{key: key, impostor: impostor, src: src, v: v}
}

func mustKey(t testing.TB, alg keys.Algorithm, kid string) *keys.Key {
	t.Helper()
	k, err := keys.Generate(alg, keys.WithID(kid))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// goodClaims are valid at testNow.
func goodClaims() map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "secret-subject-value", "aud": testAudience,
		"iat": testNow.Unix() - 60, "nbf": testNow.Unix() - 60, "exp": testNow.Unix() + 600,
		"jti": "j1", "client_id": "spa", "scope": "orders:read",
	}
}

func goodHeader(k *keys.Key) map[string]any {
	return map[string]any{"alg": string(k.Algorithm()), "kid": k.ID(), "typ": "at+jwt"}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func js(t testing.TB, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// forge signs any header and payload (maps or raw JSON strings) with k.
func forge(t testing.TB, k *keys.Key, header, payload any) string {
	t.Helper()
	input := enc.EncodeToString([]byte(js(t, header))) + "." + enc.EncodeToString([]byte(js(t, payload)))
	sig, err := k.Sign(input)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

// unsigned joins header and payload with the given raw signature bytes.
func unsigned(t testing.TB, header, payload any, sig []byte) string {
	return enc.EncodeToString([]byte(js(t, header))) + "." + enc.EncodeToString([]byte(js(t, payload))) + "." + enc.EncodeToString(sig)
}

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

func TestVerifyRefuses(t *testing.T) {
	f := newFixture(t)
	k := f.key
	h := goodHeader(k)
	p := goodClaims()
	good := forge(t, k, h, p)
	parts := strings.Split(good, ".")
	sigBytes, _ := enc.DecodeString(parts[2])

	// The ES256 public key as an HMAC secret: the classic algorithm
	// confusion attack, in both encodings an attacker would try.
	pubJWK, _ := k.PublicJWK()
	hmacWith := func(secret []byte) string {
		hh := with(h, "alg", "HS256")
		input := enc.EncodeToString([]byte(js(t, hh))) + "." + enc.EncodeToString([]byte(js(t, p)))
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(input))
		return input + "." + enc.EncodeToString(m.Sum(nil))
	}
	pubRaw, _ := k.Public().(*ecdsa.PublicKey).Bytes()

	// The same ECDSA signature in ASN.1 DER instead of R||S.
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(new(big.Int).SetBytes(sigBytes[:32]))
		b.AddASN1BigInt(new(big.Int).SetBytes(sigBytes[32:]))
	})
	der := b.BytesOrPanic()

	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"too large", strings.Repeat("a", token.DefaultMaxSize+1), token.ErrTooLarge},
		{"empty", "", token.ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], token.ErrMalformed},
		{"four parts", good + ".x", token.ErrMalformed},
		{"JWE five parts", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", token.ErrUnsupported},
		{"space inside", parts[0] + ". " + parts[1] + "." + parts[2], token.ErrMalformed},
		{"trailing newline", good + "\n", token.ErrMalformed},
		{"leading space", " " + good, token.ErrMalformed},
		{"padding", parts[0] + "=." + parts[1] + "." + parts[2], token.ErrMalformed},
		{"standard base64 alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(good) + "+/", token.ErrMalformed},
		{"non-canonical base64 (trailing bits)", parts[0] + "." + parts[1] + "." + noncanonical(parts[2]), token.ErrMalformed},
		{"empty header", "." + parts[1] + "." + parts[2], token.ErrMalformed},
		{"header not JSON", enc.EncodeToString([]byte("alg")) + "." + parts[1] + "." + parts[2], token.ErrMalformed},
		{"header is an array", forge(t, k, `["ES256"]`, p), token.ErrMalformed},
		{"header duplicate alg", forge(t, k, `{"alg":"ES256","kid":"k1","typ":"at+jwt","alg":"none"}`, p), token.ErrMalformed},
		{"header alg of wrong type", forge(t, k, `{"alg":7,"kid":"k1","typ":"at+jwt"}`, p), token.ErrMalformed},
		{"header without alg", forge(t, k, `{"kid":"k1","typ":"at+jwt"}`, p), token.ErrMalformed},
		{"header trailing data", forge(t, k, `{"alg":"ES256","kid":"k1","typ":"at+jwt"} {}`, p), token.ErrMalformed},
		{"alg none", unsigned(t, with(h, "alg", "none"), p, nil), token.ErrAlgorithm},
		{"alg None", unsigned(t, with(h, "alg", "None"), p, nil), token.ErrAlgorithm},
		{"alg NONE", unsigned(t, with(h, "alg", "NONE"), p, nil), token.ErrAlgorithm},
		{"alg nOnE with a signature", unsigned(t, with(h, "alg", "nOnE"), p, sigBytes), token.ErrAlgorithm},
		{"alg es256 (wrong case)", unsigned(t, with(h, "alg", "es256"), p, sigBytes), token.ErrAlgorithm},
		{"HS256 with public JWK as secret", hmacWith(pubJWK), token.ErrAlgorithm},
		{"HS256 with public point as secret", hmacWith(pubRaw), token.ErrAlgorithm},
		{"alg does not match key", unsigned(t, with(h, "alg", "RS256"), p, sigBytes), token.ErrAlgorithm},
		{"alg EdDSA on an EC key", unsigned(t, with(h, "alg", "EdDSA"), p, sigBytes), token.ErrAlgorithm},
		{"unknown kid", forge(t, k, with(h, "kid", "nope"), p), token.ErrUnknownKey},
		{"no kid", forge(t, mustKey(t, keys.ES256, "other"), with(h, "kid", nil), p), token.ErrSignature},
		{"jku header", forge(t, k, with(h, "jku", "https://evil.example/jwks"), p), token.ErrUnsupported},
		{"x5u header", forge(t, k, with(h, "x5u", "https://evil.example/cert"), p), token.ErrUnsupported},
		{"x5c header", forge(t, k, with(h, "x5c", []string{"MIIB"}), p), token.ErrUnsupported},
		{"embedded jwk header", forge(t, k, with(h, "jwk", json.RawMessage(pubJWK)), p), token.ErrUnsupported},
		{"crit header", forge(t, k, with(h, "crit", []string{"exp"}), p), token.ErrUnsupported},
		{"b64 false", forge(t, k, with(h, "b64", false, "crit", []string{"b64"}), p), token.ErrUnsupported},
		{"b64 false without crit", forge(t, k, with(h, "b64", false), p), token.ErrUnsupported},
		{"nested JWT", forge(t, k, with(h, "cty", "JWT"), good), token.ErrUnsupported},
		{"enc header", forge(t, k, with(h, "enc", "A256GCM"), p), token.ErrUnsupported},
		{"ECDSA ASN.1 signature", unsigned(t, h, p, der), token.ErrSignature},
		{"ECDSA signature of 65 bytes", unsigned(t, h, p, append([]byte{0}, sigBytes...)), token.ErrSignature},
		{"ECDSA signature of 63 bytes", unsigned(t, h, p, sigBytes[1:]), token.ErrSignature},
		{"empty signature", unsigned(t, h, p, nil), token.ErrSignature},
		{"signature of another key with the same kid", forge(t, f.impostor, h, p), token.ErrSignature},
		{"payload tampered", parts[0] + "." + enc.EncodeToString([]byte(js(t, with(p, "sub", "admin")))) + "." + parts[2], token.ErrSignature},
		{"header tampered", enc.EncodeToString([]byte(js(t, with(h, "typ", "AT+JWT")))) + "." + parts[1] + "." + parts[2], token.ErrSignature},
		{"typ JWT (an ID token)", forge(t, k, with(h, "typ", "JWT"), p), token.ErrType},
		{"typ missing", forge(t, k, with(h, "typ", nil), p), token.ErrType},
		{"payload not JSON", forge(t, k, h, "not json"), token.ErrMalformed},
		{"payload is a JWT", forge(t, k, h, good), token.ErrMalformed},
		{"payload array", forge(t, k, h, `[1]`), token.ErrMalformed},
		{"exp as string", forge(t, k, h, with(p, "exp", "9999999999")), token.ErrMalformed},
		{"exp negative", forge(t, k, h, with(p, "exp", -1)), token.ErrMalformed},
		{"exp beyond year 9999", forge(t, k, h, with(p, "exp", 1e300)), token.ErrMalformed},
		{"aud as number", forge(t, k, h, with(p, "aud", 5)), token.ErrMalformed},
		{"sub as object", forge(t, k, h, with(p, "sub", map[string]any{"id": 1})), token.ErrMalformed},
		{"roles as string", forge(t, k, h, with(p, "roles", "admin")), token.ErrMalformed},
		{"duplicate sub", forge(t, k, h, `{"iss":"https://issuer.example","aud":"orders","exp":`+js(t, testNow.Unix()+60)+`,"sub":"bob","sub":"admin"}`), token.ErrMalformed},
		{"payload trailing data", forge(t, k, h, js(t, p)+"{}"), token.ErrMalformed},
		{"wrong issuer", forge(t, k, h, with(p, "iss", "https://evil.example")), token.ErrIssuer},
		{"issuer with trailing slash", forge(t, k, h, with(p, "iss", testIssuer+"/")), token.ErrIssuer},
		{"issuer case differs", forge(t, k, h, with(p, "iss", strings.ToUpper(testIssuer))), token.ErrIssuer},
		{"no issuer", forge(t, k, h, with(p, "iss", nil)), token.ErrIssuer},
		{"ISS is not iss", forge(t, k, h, with(p, "iss", nil, "ISS", testIssuer)), token.ErrIssuer},
		{"wrong audience", forge(t, k, h, with(p, "aud", "payments")), token.ErrAudience},
		{"audience list without ours", forge(t, k, h, with(p, "aud", []string{"payments", "users"})), token.ErrAudience},
		{"no audience", forge(t, k, h, with(p, "aud", nil)), token.ErrAudience},
		{"no exp", forge(t, k, h, with(p, "exp", nil)), token.ErrMissingClaim},
		{"EXP is not exp", forge(t, k, h, with(p, "exp", nil, "EXP", testNow.Unix()+60)), token.ErrMissingClaim},
		{"expired beyond leeway", forge(t, k, h, with(p, "exp", testNow.Unix()-31)), token.ErrExpired},
		{"nbf beyond leeway", forge(t, k, h, with(p, "nbf", testNow.Unix()+31)), token.ErrNotYetValid},
		{"iat in the future", forge(t, k, h, with(p, "iat", testNow.Unix()+3600)), token.ErrNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.v.Verify(context.Background(), tt.raw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if c != nil {
				t.Fatal("claims returned with an error")
			}
			var te *token.Error
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not a *token.Error", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "secret-subject-value") || (len(tt.raw) > 20 && strings.Contains(msg, tt.raw[:20])) {
				t.Fatalf("error echoes token content: %s", msg)
			}
			if code, status := token.ErrorCode(err); code != token.CodeInvalidToken || status != 401 {
				t.Fatalf("ErrorCode = %s %d", code, status)
			}
		})
	}
}

// noncanonical flips the unused low bits of the last base64url character,
// which lenient decoders accept as the same bytes.
func noncanonical(part string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, part[len(part)-1])
	return part[:len(part)-1] + string(alphabet[last|1])
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
