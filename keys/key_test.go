package keys_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
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

func TestSaveLoad(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "key.jwk")
			k := testKey(t, alg)
			if err := keys.Save(path, k); err != nil {
				t.Fatalf("Save: %v", err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := fi.Mode().Perm(); mode != 0o600 {
				t.Errorf("mode %v, want 0600", mode)
			}
			got, err := keys.LoadKey(path)
			if err != nil {
				t.Fatalf("LoadKey: %v", err)
			}
			if !got.SameKey(k) || got.ID() != k.ID() || !got.CanSign() {
				t.Errorf("LoadKey gave %v, want %v", got, k)
			}

			// Save never overwrites, and leaves the file as it was.
			before, _ := os.ReadFile(path)
			next := newKey(t, alg, "next")
			if err := keys.Save(path, next); !errors.Is(err, fs.ErrExist) {
				t.Errorf("Save over an existing file = %v, want fs.ErrExist", err)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Error("a refused Save changed the file")
			}

			// Replace does, keeping mode 0600 and no temporary file.
			if err := keys.Replace(path, next); err != nil {
				t.Fatalf("Replace: %v", err)
			}
			got, err = keys.LoadKey(path)
			if err != nil {
				t.Fatalf("LoadKey after Replace: %v", err)
			}
			if !got.SameKey(next) || got.ID() != "next" {
				t.Errorf("after Replace LoadKey gave %v, want %v", got, next)
			}
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode after Replace %v, want 0600", fi.Mode().Perm())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the key file", len(entries))
			}
		})
	}
}

func TestSaveRefusals(t *testing.T) {
	dir := t.TempDir()
	// A dangling symlink is an existing path: Save must not follow it.
	link := filepath.Join(dir, "link.jwk")
	if err := os.Symlink(filepath.Join(dir, "target.jwk"), link); err != nil {
		t.Skip(err)
	}
	if err := keys.Save(link, testKey(t, keys.ES256)); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Save over a dangling symlink = %v, want fs.ErrExist", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "target.jwk")); err == nil {
		t.Error("Save wrote through a symlink")
	}
	// A public key has nothing to save.
	err := keys.Save(filepath.Join(dir, "pub.jwk"), testKey(t, keys.ES256).PublicKey())
	if !errors.Is(err, keys.ErrNoPrivateKey) {
		t.Errorf("Save(public key) = %v, want ErrNoPrivateKey", err)
	}
}

// A kid is free text: one that names a JWKS member must still load as a JWK.
func TestSaveLoadKidKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.jwk")
	k := newKey(t, keys.ES256, "keys")
	if err := keys.Save(path, k); err != nil {
		t.Fatal(err)
	}
	got, err := keys.LoadKey(path)
	if err != nil {
		t.Fatalf("LoadKey: %v", err)
	}
	if got.ID() != "keys" || !got.SameKey(k) {
		t.Errorf("LoadKey gave %v", got)
	}
}

func TestLoadLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, keys.MaxKeyFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := keys.Load(big)
	wantErr(t, err, "larger than")

	two := filepath.Join(dir, "two.jwks")
	if err := os.WriteFile(two, privateJWKS(t, newKey(t, keys.ES256, "a"), newKey(t, keys.EdDSA, "b")), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Load(two)
	if err != nil || len(ks) != 2 || !ks[0].CanSign() {
		t.Fatalf("Load(private JWKS) = %v, %v", ks, err)
	}
	_, err = keys.LoadKey(two)
	wantErr(t, err, "2 keys")

	_, err = keys.Load(filepath.Join(dir, "missing"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
	_, err = keys.Parse([]byte("hello"))
	wantErr(t, err, "not a JWK, JWKS or PEM")
	_, err = keys.Parse(privateJWKS(t, testKey(t, keys.ES256)), keys.WithID("x"))
	wantErr(t, err, "PEM only")
}

// privateJWKS is a JWK Set of the private JWKs of ks, as a key file may hold.
func privateJWKS(t testing.TB, ks ...*keys.Key) []byte {
	t.Helper()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	for _, k := range ks {
		b, err := k.PrivateJWK()
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, b)
	}
	out, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return out
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

// ecJWK returns the public JWK members of a P-256 key.
func ecJWK(t testing.TB, k *keys.Key) map[string]any {
	t.Helper()
	b, err := k.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	return jsonObject(t, b)
}

func TestRefusals(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)

	ec := ecJWK(t, testKey(t, keys.ES256))
	other := ecJWK(t, newKey(t, keys.ES256, "other"))
	ed := ecJWK(t, testKey(t, keys.EdDSA))
	edOther := ecJWK(t, newKey(t, keys.EdDSA, "other"))
	rsaPub := jsonObject(t, mustPublicJWK(t, testKey(t, keys.RS256)))
	rsaPriv := ecJWK(t, testKey(t, keys.RS256))

	jwk := func(m map[string]any, set ...string) []byte {
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		for i := 0; i+1 < len(set); i += 2 {
			if set[i+1] == "" {
				delete(c, set[i])
			} else {
				c[set[i]] = set[i+1]
			}
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	x := ec["x"].(string)
	ecPub := `{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + ec["y"].(string) + `"}`

	tests := []struct {
		name  string
		do    func() error
		is    error    // errors.Is target, if any
		parts []string // substrings of the message
	}{
		{"HS256 secret of 31 bytes", func() error { _, err := keys.New(keys.HS256, make([]byte, 31)); return err },
			keys.ErrWeakKey, []string{"32 bytes", "got 31"}},
		{"HS256 JWK of 31 bytes", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"oct","k":"` + b64(make([]byte, 31)) + `"}`))
			return err
		}, keys.ErrWeakKey, []string{"32 bytes"}},
		{"RSA 1024 bits for RS256", func() error { _, err := keys.New(keys.RS256, rsa1024); return err },
			keys.ErrWeakKey, []string{"2048"}},
		{"RSA 1024 bits public for PS256", func() error { _, err := keys.New(keys.PS256, &rsa1024.PublicKey); return err },
			keys.ErrWeakKey, []string{"2048"}},
		{"RSA 1024 bits generated", func() error { _, err := keys.Generate(keys.RS256, keys.WithRSABits(1024)); return err },
			keys.ErrWeakKey, nil},
		{"RSA 1024 bits JWK", func() error {
			_, err := keys.ParseJWK(mustPublicJWKOf(t, &rsa1024.PublicKey))
			return err
		}, keys.ErrWeakKey, nil},
		{"P-384 key for ES256", func() error { _, err := keys.New(keys.ES256, p384); return err },
			nil, []string{"P-256", "P-384"}},
		{"P-256 key for EdDSA", func() error { _, err := keys.New(keys.EdDSA, testKey(t, keys.ES256).Public()); return err },
			nil, []string{"ECDSA", "EdDSA"}},
		{"Ed25519 key declared RS256", func() error { _, err := keys.New(keys.RS256, edPriv); return err },
			nil, []string{"Ed25519", "RS256"}},
		{"Ed25519 JWK declared RS256", func() error { _, err := keys.ParseJWK(jwk(ed, "alg", "RS256")); return err },
			nil, []string{"Ed25519", "RS256"}},
		{"secret declared ES256", func() error { _, err := keys.New(keys.ES256, make([]byte, 32)); return err },
			nil, []string{"secret", "ES256"}},
		{"unknown algorithm", func() error { _, err := keys.Generate("ES512"); return err },
			nil, []string{`"ES512"`, "ES256, EdDSA"}},
		{"unknown algorithm for New", func() error { _, err := keys.New("RS384", rsa1024); return err },
			nil, []string{"RS384"}},
		{"unknown algorithm in WithAlgorithm", func() error { _, err := keys.ParsePEM(nil, keys.WithAlgorithm("HS512")); return err },
			nil, []string{"HS512"}},
		{"none", func() error { _, err := keys.Generate("none"); return err },
			nil, []string{`"none"`}},
		{"none in a JWK", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"oct","alg":"none","k":"` + strings.Repeat("A", 43) + `"}`))
			return err
		},
			nil, []string{`"none"`}},
		{"inconsistent RSA private key", func() error {
			good := signerOf(t, testKey(t, keys.RS256)).(*rsa.PrivateKey)
			bad := &rsa.PrivateKey{PublicKey: good.PublicKey, D: good.D, Primes: []*big.Int{good.Primes[0], big.NewInt(7)}}
			_, err := keys.New(keys.RS256, bad)
			return err
		}, nil, []string{"invalid RSA private key"}},
		{"ECDSA key without curve", func() error { _, err := keys.New(keys.ES256, &ecdsa.PublicKey{}); return err },
			nil, []string{"without curve"}},
		{"nil material", func() error { _, err := keys.New(keys.ES256, nil); return err },
			nil, []string{"no key material"}},
		{"EC x of 31 bytes", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"EC","crv":"P-256","x":"` + b64(unb64(t, x)[1:]) + `","y":"` + ec["y"].(string) + `"}`))
			return err
		}, nil, []string{"32 bytes"}},
		{"EC y of 33 bytes", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + b64(append([]byte{0}, unb64(t, ec["y"].(string))...)) + `"}`))
			return err
		}, nil, []string{"32 bytes"}},
		{"EC point not on the curve", func() error {
			_, err := keys.ParseJWK([]byte(`{"kty":"EC","crv":"P-256","x":"` + x + `","y":"` + other["y"].(string) + `"}`))
			return err
		}, nil, []string{"EC JWK"}},
		{"EC P-384 JWK", func() error { _, err := keys.ParseJWK(jwk(ec, "crv", "P-384")); return err },
			nil, []string{"P-384"}},
		{"EC JWK declared PS256", func() error { _, err := keys.ParseJWK([]byte(ecPub[:len(ecPub)-1] + `,"alg":"PS256"}`)); return err },
			nil, []string{"ECDSA", "PS256"}},
		{"RSA n with a leading zero", func() error {
			_, err := keys.ParseJWK(jwk(rsaPub, "n", b64(append([]byte{0}, unb64(t, rsaPub["n"].(string))...))))
			return err
		}, nil, []string{`"n"`, "minimal"}},
		{"RSA e with a leading zero", func() error { _, err := keys.ParseJWK(jwk(rsaPub, "e", "AAEAAQ")); return err },
			nil, []string{`"e"`, "minimal"}},
		{"RSA even exponent", func() error { _, err := keys.ParseJWK(jwk(rsaPub, "e", "AQAC")); return err },
			nil, []string{"exponent"}},
		{"RSA exponent too large", func() error { _, err := keys.ParseJWK(jwk(rsaPub, "e", "AQAAAAAB")); return err },
			nil, []string{"exponent"}},
		{"RSA private part of another key", func() error {
			_, err := keys.ParseJWK(jwk(ecJWK(t, newKey(t, keys.RS256, "other")), "n", rsaPriv["n"].(string)))
			return err
		}, nil, []string{"RSA JWK private part"}},
		{"RSA multi-prime", func() error {
			_, err := keys.ParseJWK([]byte(strings.TrimSuffix(string(jwk(rsaPriv)), "}") + `,"oth":[]}`))
			return err
		},
			nil, []string{"multi-prime"}},
		{"EC private part not matching", func() error { _, err := keys.ParseJWK(jwk(ec, "d", other["d"].(string))); return err },
			nil, []string{"does not match"}},
		{"EC private part out of range", func() error {
			_, err := keys.ParseJWK(jwk(ec, "d", "_____________________________________________w"))
			return err
		}, nil, []string{"EC JWK private part"}},
		{"Ed25519 private part not matching", func() error { _, err := keys.ParseJWK(jwk(ed, "d", edOther["d"].(string))); return err },
			nil, []string{"does not match"}},
		{"Ed25519 x of 31 bytes", func() error {
			_, err := keys.ParseJWK(jwk(ed, "x", b64(unb64(t, ed["x"].(string))[1:]), "d", ""))
			return err
		},
			nil, []string{"32 bytes"}},
		{"duplicate member names", func() error {
			_, err := keys.ParseJWK([]byte(ecPub[:len(ecPub)-1] + `,"crv":"P-256"}`))
			return err
		}, nil, []string{"duplicate"}},
		{"duplicate member kid", func() error {
			_, err := keys.ParseJWK([]byte(`{"kid":"a",` + ecPub[1:len(ecPub)-1] + `,"kid":"b"}`))
			return err
		}, nil, []string{"duplicate"}},
		{"trailing garbage", func() error { _, err := keys.ParseJWK([]byte(ecPub + `x`)); return err },
			nil, []string{"not valid JSON"}},
		{"two JSON values", func() error { _, err := keys.ParseJWK([]byte(ecPub + ecPub)); return err },
			nil, []string{"not valid JSON"}},
		{"padded base64", func() error { _, err := keys.ParseJWK(jwk(ed, "x", ed["x"].(string)+"=", "d", "")); return err },
			nil, []string{`"x"`, "unpadded base64url"}},
		{"non-canonical base64", func() error {
			// 32 bytes take 43 characters, whose last 2 bits must be zero.
			x := []byte(ed["x"].(string))
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			x[len(x)-1] = alphabet[strings.IndexByte(alphabet, x[len(x)-1])^1]
			_, err := keys.ParseJWK(jwk(ed, "x", string(x), "d", ""))
			return err
		}, nil, []string{`"x"`, "unpadded base64url"}},
		{"standard base64", func() error {
			_, err := keys.ParseJWK(jwk(rsaPub, "n", strings.NewReplacer("-", "+", "_", "/").Replace(rsaPub["n"].(string))))
			return err
		}, nil, []string{`"n"`}},
		{"unknown kty", func() error { _, err := keys.ParseJWK([]byte(`{"kty":"XYZ"}`)); return err },
			nil, []string{"XYZ"}},
		{"encryption key", func() error { _, err := keys.ParseJWK(jwk(ec, "use", "enc")); return err },
			nil, []string{"enc"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil {
				t.Fatal("succeeded, want an error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %q", err, tt.is)
			}
			for _, p := range tt.parts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not contain %q", err, p)
				}
			}
		})
	}
}

// Member names match case-sensitively (RFC 7517 §4): "Alg" is an unknown
// member, not the alg.
func TestParseJWKCaseSensitive(t *testing.T) {
	b := withMember(t, mustPublicJWK(t, testKey(t, keys.ES256)), "Alg", `"RS256"`)
	b = withMember(t, b, "alg", "")
	k, err := keys.ParseJWK(b)
	if err != nil {
		t.Fatalf("ParseJWK: %v", err)
	}
	if k.Algorithm() != keys.ES256 {
		t.Errorf("alg %s, want ES256 (the default for an EC key)", k.Algorithm())
	}
}

func mustPublicJWK(t testing.TB, k *keys.Key) []byte {
	t.Helper()
	b, err := k.PublicJWK()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustPublicJWKOf encodes an RSA public key as a JWK by hand, for keys that
// keys.New refuses.
func mustPublicJWKOf(t testing.TB, pub *rsa.PublicKey) []byte {
	t.Helper()
	n := b64(pub.N.Bytes())
	return []byte(`{"kty":"RSA","n":"` + n + `","e":"AQAB"}`)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func unb64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
