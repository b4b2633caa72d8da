package token_test

// Every token the Verifier refuses, and the error it refuses it with:
// malformed or ambiguous encodings, algorithms and headers not allowed, bad
// signatures, and claims that do not hold.

import (
	"context"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

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
