package token_test

// The fixtures the tests of this package share: the issuer, audience and
// time the verifiers expect, claims and headers valid then, and tokens
// forged with any header, payload or signature.

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

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
