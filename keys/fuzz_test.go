package keys_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/keys"
)

// fuzzSeeds are JWKs of every algorithm, public and private, and edge cases
// near the checks of the parser. More seeds are in testdata/fuzz.
func fuzzSeeds(f *testing.F) (jwks [][]byte, jwk [][]byte) {
	f.Helper()
	for _, alg := range keys.Algorithms() {
		k := testKey(f, alg)
		priv, err := k.PrivateJWK()
		if err != nil {
			f.Fatal(err)
		}
		jwk = append(jwk, priv)
		jwks = append(jwks, []byte(`{"keys":[`+string(priv)+`]}`))
		if alg.Symmetric() {
			continue
		}
		pub := mustPublicJWK(f, k)
		jwk = append(jwk, pub)
		jwks = append(jwks, jwksOf(f, k))
	}
	var all []*keys.Key
	for _, alg := range keys.Algorithms() {
		all = append(all, testKey(f, alg))
	}
	jwks = append(jwks, jwksOf(f, all...))

	ec := string(mustPublicJWK(f, testKey(f, keys.ES256)))
	edge := []string{
		`{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`,
		`{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB"}`,
		`{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","alg":"PS256","use":"sig"}`,
		`{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","use":"enc"}`,
		`{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}`,
		`{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`,
		`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
		`{"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`,
		`{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
		`{"kty":"oct","alg":"none","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`,
		ec[:len(ec)-1] + `,"alg":"ES384"}`,
		ec[:len(ec)-1] + `,"kid":"dup"}`,
		ec + ` `,
		`{}`, `null`, `[]`, `""`, `{"kty":1}`,
	}
	for _, e := range edge {
		jwk = append(jwk, []byte(e))
		jwks = append(jwks, []byte(`{"keys":[`+e+`]}`))
	}
	jwks = append(jwks,
		[]byte(`{"keys":[]}`), []byte(`{"keys":null}`), []byte(`{"keys":{}}`), []byte(`{}`),
		[]byte(`{"keys":[`+ec+`,`+ec+`]}`),
		[]byte(`{"keys":[`+strings.Replace(ec, `"kid"`, `"x-kid"`, 1)+`,`+edge[6]+`]}`),
		[]byte(`{"keys":[],"keys":[]}`),
	)
	return jwks, jwk
}

// checkParsed asserts what every key taken from untrusted input must satisfy.
func checkParsed(t *testing.T, k *keys.Key, fromJWKS bool) {
	t.Helper()
	if k == nil {
		t.Fatal("nil key without error")
	}
	if k.ID() == "" {
		t.Errorf("key %v has an empty kid", k)
	}
	if !slices.Contains(keys.Algorithms(), k.Algorithm()) {
		t.Errorf("key %v has unsupported algorithm %q", k, k.Algorithm())
	}
	if k.Thumbprint() == "" {
		t.Errorf("key %v has no thumbprint", k)
	}
	if fromJWKS && (k.CanSign() || k.Algorithm().Symmetric()) {
		t.Fatalf("ParseJWKS returned signing key %v", k)
	}
	if k.Algorithm().Symmetric() {
		if _, err := k.PublicJWK(); err == nil {
			t.Errorf("an HS256 key has a public JWK")
		}
		return
	}
	pub, err := k.PublicJWK()
	if err != nil {
		t.Fatalf("PublicJWK of %v: %v", k, err)
	}
	back, err := keys.ParseJWK(pub)
	if err != nil {
		t.Fatalf("PublicJWK of %v does not re-parse: %v\n%s", k, err, pub)
	}
	if !back.SameKey(k) || back.ID() != k.ID() || back.CanSign() {
		t.Fatalf("PublicJWK re-parses to %v, want %v", back, k)
	}
	if k.CanSign() {
		priv, err := k.PrivateJWK()
		if err != nil {
			t.Fatalf("PrivateJWK of %v: %v", k, err)
		}
		back, err := keys.ParseJWK(priv)
		if err != nil || !back.SameKey(k) || !back.CanSign() {
			t.Fatalf("PrivateJWK re-parses to %v, %v; want %v", back, err, k)
		}
	}
}

func FuzzParseJWKS(f *testing.F) {
	jwks, _ := fuzzSeeds(f)
	for _, s := range jwks {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := keys.ParseJWKS(data)
		if err != nil {
			if ks != nil {
				t.Errorf("keys %v with error %v", ks, err)
			}
			return
		}
		seen := map[string]bool{}
		for _, k := range ks {
			checkParsed(t, k, true)
			if seen[k.ID()] {
				t.Errorf("kid %q twice", k.ID())
			}
			seen[k.ID()] = true
		}
		// What parses must publish and parse back to the same keys.
		again, err := keys.ParseJWKS(jwksOf(t, ks...))
		if err != nil || len(again) != len(ks) {
			t.Fatalf("MarshalJWKS(ParseJWKS) re-parses to %v, %v", again, err)
		}
		for i := range ks {
			if !again[i].SameKey(ks[i]) || again[i].ID() != ks[i].ID() {
				t.Errorf("key %d re-parses to %v, want %v", i, again[i], ks[i])
			}
		}
	})
}

func FuzzParseJWK(f *testing.F) {
	_, jwk := fuzzSeeds(f)
	for _, s := range jwk {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := keys.ParseJWK(data)
		if err != nil {
			if k != nil {
				t.Errorf("key %v with error %v", k, err)
			}
			return
		}
		checkParsed(t, k, false)
	})
}
