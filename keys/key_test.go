package keys_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/keys"
)

const signingInput = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9"

func TestGenerateRoundTrip(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			k, err := keys.Generate(alg)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if k.Algorithm() != alg {
				t.Errorf("Algorithm() = %s, want %s", k.Algorithm(), alg)
			}
			if !k.CanSign() {
				t.Error("a generated key cannot sign")
			}
			if k.ID() == "" || k.ID() != k.Thumbprint() {
				t.Errorf("kid %q, want the thumbprint %q", k.ID(), k.Thumbprint())
			}

			priv, err := k.PrivateJWK()
			if err != nil {
				t.Fatalf("PrivateJWK: %v", err)
			}
			back, err := keys.ParseJWK(priv)
			if err != nil {
				t.Fatalf("ParseJWK(PrivateJWK): %v", err)
			}
			if !back.SameKey(k) || back.ID() != k.ID() || back.Algorithm() != alg || !back.CanSign() {
				t.Fatalf("round trip gave %v, want %v", back, k)
			}

			// Each signs, the other verifies; a changed input fails.
			for _, pair := range [][2]*keys.Key{{k, back}, {back, k}} {
				sig, err := pair[0].Sign(signingInput)
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				if err := pair[1].Verify([]byte(signingInput), sig); err != nil {
					t.Errorf("Verify: %v", err)
				}
				if err := pair[1].Verify([]byte(signingInput+"x"), sig); !errors.Is(err, keys.ErrSignature) {
					t.Errorf("Verify of another input = %v, want ErrSignature", err)
				}
				sig[len(sig)/2] ^= 1
				if err := pair[1].Verify([]byte(signingInput), sig); !errors.Is(err, keys.ErrSignature) {
					t.Errorf("Verify of a flipped signature = %v, want ErrSignature", err)
				}
			}

			// The public half verifies but never signs, and carries the same kid.
			if alg.Symmetric() {
				if k.PublicKey() != nil {
					t.Error("PublicKey() of an HS256 key is not nil")
				}
				if _, err := k.PublicJWK(); err == nil {
					t.Error("PublicJWK of an HS256 key succeeded")
				}
				return
			}
			pub := k.PublicKey()
			if pub.CanSign() || pub.ID() != k.ID() || !pub.SameKey(k) {
				t.Fatalf("PublicKey() = %v", pub)
			}
			if _, err := pub.Sign(signingInput); !errors.Is(err, keys.ErrNoPrivateKey) {
				t.Errorf("Sign with a public key = %v, want ErrNoPrivateKey", err)
			}
			if _, err := pub.PrivateJWK(); !errors.Is(err, keys.ErrNoPrivateKey) {
				t.Errorf("PrivateJWK of a public key = %v, want ErrNoPrivateKey", err)
			}
			sig, _ := k.Sign(signingInput)
			if err := pub.Verify([]byte(signingInput), sig); err != nil {
				t.Errorf("public key does not verify: %v", err)
			}
			pj, err := pub.PublicJWK()
			if err != nil {
				t.Fatal(err)
			}
			pback, err := keys.ParseJWK(pj)
			if err != nil {
				t.Fatalf("ParseJWK(PublicJWK): %v", err)
			}
			if !pback.SameKey(k) || pback.ID() != k.ID() || pback.CanSign() {
				t.Errorf("public round trip gave %v", pback)
			}

			// Another key of the same algorithm is not the same and does not verify.
			other := testKey(t, alg)
			if other.SameKey(k) {
				t.Fatal("two generated keys are the same")
			}
			if err := other.Verify([]byte(signingInput), sig); !errors.Is(err, keys.ErrSignature) {
				t.Errorf("another key verifies: %v", err)
			}
		})
	}
}

// RFC 7638 §3.1: the example RSA key and its thumbprint.
const (
	rfc7638N     = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638Thumb = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

func TestThumbprintRFC7638(t *testing.T) {
	noKid := `{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","alg":"RS256"}`
	k, err := keys.ParseJWK([]byte(noKid))
	if err != nil {
		t.Fatal(err)
	}
	if k.Thumbprint() != rfc7638Thumb {
		t.Errorf("Thumbprint() = %s, want %s", k.Thumbprint(), rfc7638Thumb)
	}
	if k.ID() != rfc7638Thumb {
		t.Errorf("kid defaults to %q, want the thumbprint %s", k.ID(), rfc7638Thumb)
	}

	withKid := `{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`
	k2, err := keys.ParseJWK([]byte(withKid))
	if err != nil {
		t.Fatal(err)
	}
	if k2.ID() != "2011-04-29" || k2.Thumbprint() != rfc7638Thumb || !k2.SameKey(k) {
		t.Errorf("with kid: ID %q, thumbprint %s", k2.ID(), k2.Thumbprint())
	}

	// New over the same material gives the same thumbprint; WithID overrides the kid only.
	k3, err := keys.New(keys.RS256, k.Public(), keys.WithID("mine"))
	if err != nil {
		t.Fatal(err)
	}
	if k3.ID() != "mine" || k3.Thumbprint() != rfc7638Thumb || !k3.SameKey(k) {
		t.Errorf("New with WithID: ID %q, thumbprint %s", k3.ID(), k3.Thumbprint())
	}
	// The same material under another algorithm is not the same key.
	ps, err := keys.New(keys.PS256, k.Public())
	if err != nil {
		t.Fatal(err)
	}
	if ps.SameKey(k) {
		t.Error("an RS256 and a PS256 key are the same key")
	}
}

func TestWithIDOverridesThumbprint(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		k, err := keys.Generate(alg, keys.WithID("k-2026"), keys.WithRSABits(2048))
		if err != nil {
			t.Fatal(err)
		}
		if k.ID() != "k-2026" || k.Thumbprint() == "" || k.Thumbprint() == "k-2026" {
			t.Errorf("%s: ID %q thumbprint %q", alg, k.ID(), k.Thumbprint())
		}
	}
	_, err := keys.Generate(keys.ES256, keys.WithID(""))
	wantErr(t, err, "empty kid")
}

func TestKeyMarshalJSONIsPublic(t *testing.T) {
	k := testKey(t, keys.ES256)
	b, err := json.Marshal(struct{ Key *keys.Key }{k})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"d"`) {
		t.Errorf("json.Marshal of a Key leaks its private part: %s", b)
	}
	if s := k.String(); !strings.Contains(s, k.ID()) || !strings.Contains(s, "private") {
		t.Errorf("String() = %q", s)
	}
	if _, err := json.Marshal(testKey(t, keys.HS256)); err == nil {
		t.Error("json.Marshal of an HS256 key succeeded")
	}
}

func TestParseAlgorithm(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		if got, err := keys.ParseAlgorithm(string(alg)); err != nil || got != alg {
			t.Errorf("ParseAlgorithm(%s) = %s, %v", alg, got, err)
		}
	}
	for _, s := range []string{"", "none", "None", "es256", "ES384", "RS512", "HS384", "Ed25519"} {
		if _, err := keys.ParseAlgorithm(s); err == nil {
			t.Errorf("ParseAlgorithm(%q) succeeded", s)
		}
	}
}

func TestNew(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			src := testKey(t, alg)
			var material any
			if alg.Symmetric() {
				material = unb64(t, jsonObject(t, must[[]byte](t)(src.PrivateJWK()))["k"].(string))
			} else {
				material = signerOf(t, src)
			}
			k, err := keys.New(alg, material)
			if err != nil {
				t.Fatalf("New(private): %v", err)
			}
			if !k.SameKey(src) || k.ID() != src.ID() || !k.CanSign() {
				t.Fatalf("New(private) = %v, want %v", k, src)
			}
			sig := must[[]byte](t)(k.Sign(signingInput))
			if err := src.Verify([]byte(signingInput), sig); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if alg.Symmetric() {
				// The secret is copied: changing the caller's slice changes nothing.
				secret := material.([]byte)
				secret[0] ^= 0xff
				if err := k.Verify([]byte(signingInput), sig); err != nil {
					t.Errorf("the key shares the caller's secret: %v", err)
				}
				return
			}
			pub, err := keys.New(alg, src.Public())
			if err != nil {
				t.Fatalf("New(public): %v", err)
			}
			if !pub.SameKey(src) || pub.CanSign() {
				t.Errorf("New(public) = %v", pub)
			}
			if err := pub.Verify([]byte(signingInput), sig); err != nil {
				t.Errorf("Verify with the public key: %v", err)
			}
		})
	}
}
