package token_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// FuzzVerify feeds arbitrary strings to the verifier. It must never panic,
// must return exactly one of its error kinds on refusal, and whatever it
// accepts must be a token whose signature go-jose also verifies with the
// same key (a differential check of the lean signature path).
func FuzzVerify(f *testing.F) {
	key := mustKey(f, keys.ES256, "k1")
	hs := mustKey(f, keys.HS256, "hs")
	src, _ := keys.NewStatic(key, hs)
	v, err := token.NewVerifier(src, testIssuer, testAudience, token.WithClock(clock),
		token.WithAlgorithms(keys.ES256, keys.HS256), token.WithCacheSize(16))
	if err != nil {
		f.Fatal(err)
	}
	h, p := goodHeader(key), goodClaims()
	good := forge(f, key, h, p)
	for _, seed := range []string{
		good,
		forge(f, hs, goodHeader(hs), p),
		forge(f, key, with(h, "jku", "https://x"), p),
		forge(f, key, with(h, "crit", []string{"b64"}, "b64", false), p),
		forge(f, key, h, with(p, "exp", "1")),
		forge(f, key, h, `{"iss":"a","iss":"b"}`),
		forge(f, key, h, with(p, "aud", []any{1, "x"})),
		forge(f, key, h, with(p, "act", map[string]any{"sub": "a", "act": map[string]any{"sub": "b"}})),
		unsigned(f, with(h, "alg", "none"), p, nil),
		unsigned(f, with(h, "alg", "HS256"), p, []byte("x")),
		"eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d",
		"a.b.c", "..", ".", "", "eyJ9.e30.", strings.Repeat("e", 100),
	} {
		f.Add(seed)
	}
	kinds := []error{token.ErrTooLarge, token.ErrMalformed, token.ErrUnsupported, token.ErrUnknownKey,
		token.ErrAlgorithm, token.ErrSignature, token.ErrType, token.ErrIssuer, token.ErrAudience,
		token.ErrExpired, token.ErrNotYetValid, token.ErrMissingClaim}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(context.Background(), raw)
		if err != nil {
			if c != nil {
				t.Fatal("claims with an error")
			}
			n := 0
			for _, k := range kinds {
				if errors.Is(err, k) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("error %v matches %d kinds", err, n)
			}
			return
		}
		if c.Issuer != testIssuer || !c.Audience.Contains(testAudience) || c.ExpiresAt == 0 {
			t.Fatalf("accepted claims that fail validation: %+v", c)
		}
		// Differential: go-jose must agree that the signature is good.
		jws, perr := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.HS256})
		if perr != nil {
			return // stricter or looser parsing is not the point here
		}
		var vkey any = key.Public()
		if jws.Signatures[0].Header.Algorithm == string(jose.HS256) {
			vkey = hsSecret(t, hs)
		}
		if _, verr := jws.Verify(vkey); verr != nil {
			t.Fatalf("accepted a token whose signature go-jose refuses: %v", verr)
		}
	})
}

// hsSecret recovers the HS256 secret of a key from its private JWK.
func hsSecret(t *testing.T, k *keys.Key) []byte {
	jwkJSON, err := k.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	s := string(jwkJSON)
	i := strings.Index(s, `"k": "`) + len(`"k": "`)
	secret, err := enc.DecodeString(s[i : i+strings.IndexByte(s[i:], '"')])
	if err != nil {
		t.Fatal(err)
	}
	return secret
}
