package keys_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// privateMembers are the JWK members that hold private or symmetric material
// (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"}

// assertPublicJWKS fails if the JWK Set b holds any private or symmetric
// material, and returns its kids.
func assertPublicJWKS(t *testing.T, b []byte) []string {
	t.Helper()
	set := jsonObject(t, b)
	list, ok := set["keys"].([]any)
	if !ok {
		t.Fatalf(`JWKS has no "keys" array: %s`, b)
	}
	var kids []string
	for i, raw := range list {
		m, ok := raw.(map[string]any)
		if !ok {
			t.Fatalf("key %d is not an object", i)
		}
		for _, name := range privateMembers {
			if _, ok := m[name]; ok {
				t.Errorf("key %d (%v) has private member %q", i, m["kid"], name)
			}
		}
		if m["kty"] == "oct" || m["alg"] == string(keys.HS256) {
			t.Errorf("key %d is symmetric: %v", i, m)
		}
		if m["use"] != "sig" || m["alg"] == nil || m["kid"] == nil {
			t.Errorf("key %d lacks use, alg or kid: %v", i, m)
		}
		kids = append(kids, m["kid"].(string))
	}
	return kids
}

func TestMarshalJWKSIsPublic(t *testing.T) {
	var all []*keys.Key
	for _, alg := range keys.Algorithms() {
		k := newKeyCached(t, alg, "kid-"+string(alg))
		all = append(all, k)
		t.Run(string(alg), func(t *testing.T) {
			kids := assertPublicJWKS(t, jwksOf(t, k))
			if alg.Symmetric() {
				if len(kids) != 0 {
					t.Errorf("HS256 key published: %v", kids)
				}
				return
			}
			if len(kids) != 1 || kids[0] != k.ID() {
				t.Errorf("kids %v, want [%s]", kids, k.ID())
			}
			// The published key parses back to the same, public-only key.
			ks, err := keys.ParseJWKS(jwksOf(t, k))
			if err != nil || len(ks) != 1 || !ks[0].SameKey(k) || ks[0].CanSign() || ks[0].ID() != k.ID() {
				t.Errorf("ParseJWKS(MarshalJWKS) = %v, %v", ks, err)
			}
		})
	}
	kids := assertPublicJWKS(t, jwksOf(t, all...))
	if want := "kid-ES256 kid-EdDSA kid-RS256 kid-PS256"; strings.Join(kids, " ") != want {
		t.Errorf("kids %v, want %s", kids, want)
	}
	if got := string(jwksOf(t)); got != `{"keys":[]}` {
		t.Errorf("MarshalJWKS() = %s, want an empty array", got)
	}
}

func TestSetJWKSIsPublic(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			clk := newClock()
			first := newKeyCached(t, alg, "first")
			set, err := keys.NewSet(first, time.Hour, keys.WithClock(clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			// Rotate through every algorithm: the set holds them all at once.
			for _, next := range keys.Algorithms() {
				if err := set.Rotate(newKeyCached(t, next, "next-"+string(next))); err != nil {
					t.Fatal(err)
				}
			}
			b, err := set.JWKS()
			if err != nil {
				t.Fatal(err)
			}
			kids := assertPublicJWKS(t, b)
			want := 4 // the asymmetric ones of the five rotated in
			if !alg.Symmetric() {
				want++ // and the first
			}
			if len(kids) != want {
				t.Errorf("kids %v, want %d", kids, want)
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	es := newKeyCached(t, keys.ES256, "es")
	ed := newKeyCached(t, keys.EdDSA, "ed")
	rs := newKeyCached(t, keys.RS256, "rs")
	ps := newKeyCached(t, keys.PS256, "ps")
	pub := func(k *keys.Key) string { return string(mustPublicJWK(t, k)) }
	priv := func(k *keys.Key) string { return string(must[[]byte](t)(k.PrivateJWK())) }
	set := func(members ...string) []byte { return []byte(`{"keys":[` + strings.Join(members, ",") + `]}`) }

	p384 := `{"kty":"EC","crv":"P-384","kid":"p384","x":"` + strings.Repeat("A", 64) + `","y":"` + strings.Repeat("A", 64) + `"}`
	oct := `{"kty":"oct","kid":"oct","k":"` + b64(make([]byte, 32)) + `"}`
	enc := string(withMember(t, mustPublicJWK(t, newKeyCached(t, keys.RS256, "enc")), "use", `"enc"`))
	es384 := string(withMember(t, mustPublicJWK(t, newKeyCached(t, keys.ES256, "es384")), "alg", `"ES384"`))
	x25519 := `{"kty":"OKP","crv":"X25519","kid":"x","x":"` + b64(make([]byte, 32)) + `"}`
	noAlg := string(withMember(t, mustPublicJWK(t, rs), "alg", ""))

	t.Run("every algorithm", func(t *testing.T) {
		ks, err := keys.ParseJWKS(set(pub(es), pub(ed), pub(rs), pub(ps)))
		if err != nil {
			t.Fatal(err)
		}
		want := []*keys.Key{es, ed, rs, ps}
		if len(ks) != len(want) {
			t.Fatalf("got %d keys, want %d", len(ks), len(want))
		}
		for i, k := range ks {
			if !k.SameKey(want[i]) || k.ID() != want[i].ID() || k.Algorithm() != want[i].Algorithm() || k.CanSign() {
				t.Errorf("key %d = %v, want public %v", i, k, want[i])
			}
		}
	})
	t.Run("skips unused keys", func(t *testing.T) {
		ks, err := keys.ParseJWKS(set(enc, p384, pub(es), oct, es384, x25519, `{"kty":"unknown","kid":"u"}`))
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) != 1 || ks[0].ID() != "es" {
			t.Errorf("got %v, want only es", ks)
		}
	})
	t.Run("ignores private members", func(t *testing.T) {
		ks, err := keys.ParseJWKS(set(priv(es), priv(ed), priv(rs), priv(ps)))
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) != 4 {
			t.Fatalf("got %d keys, want 4", len(ks))
		}
		for _, k := range ks {
			if k.CanSign() {
				t.Errorf("%v can sign: private members were taken from a JWKS", k)
			}
			if _, err := k.Sign(signingInput); err == nil {
				t.Errorf("%v signs", k)
			}
		}
	})
	t.Run("alg defaults by key type", func(t *testing.T) {
		ks, err := keys.ParseJWKS(set(noAlg))
		if err != nil || len(ks) != 1 || ks[0].Algorithm() != keys.RS256 {
			t.Errorf("got %v, %v, want one RS256 key", ks, err)
		}
	})
	t.Run("single key without kid", func(t *testing.T) {
		ks, err := keys.ParseJWKS(set(string(withMember(t, mustPublicJWK(t, es), "kid", ""))))
		if err != nil || len(ks) != 1 || ks[0].ID() != es.Thumbprint() {
			t.Errorf("got %v, %v, want the key with its thumbprint as kid", ks, err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		ks, err := keys.ParseJWKS([]byte(`{"keys":[]}`))
		if err != nil || len(ks) != 0 {
			t.Errorf("got %v, %v", ks, err)
		}
	})

	refusals := []struct {
		name  string
		data  []byte
		parts []string
	}{
		{"duplicate kids", set(pub(es), string(withMember(t, mustPublicJWK(t, ed), "kid", `"es"`))), []string{`"es"`, "twice"}},
		{"the same key twice", set(pub(es), pub(es)), []string{"twice"}},
		{"key without kid among several", set(pub(es), string(withMember(t, mustPublicJWK(t, ed), "kid", ""))), []string{"no kid"}},
		{"malformed supported key", set(pub(es), `{"kty":"EC","crv":"P-256","kid":"bad","x":"AA","y":"AA"}`), []string{"key 1", "32 bytes"}},
		{"weak RSA key", set(`{"kty":"RSA","kid":"weak","n":"` + b64(append([]byte{0xc1}, make([]byte, 127)...)) + `","e":"AQAB"}`), []string{"2048"}},
		{"alg not fitting the key", set(string(withMember(t, mustPublicJWK(t, es), "alg", `"RS256"`))), []string{"ECDSA", "RS256"}},
		{"key not an object", set(`"es"`), []string{"key 0"}},
		{"no keys member", []byte(`{"kid":"es"}`), []string{`no "keys"`}},
		{"keys null", []byte(`{"keys":null}`), []string{`no "keys"`}},
		{"keys not an array", []byte(`{"keys":{}}`), []string{"not valid JSON"}},
		{"duplicate keys member", []byte(`{"keys":[],"keys":[]}`), []string{"not valid JSON"}},
		{"duplicate member in a key", set(pub(es)[:len(pub(es))-1] + `,"kid":"again"}`), []string{"duplicate"}},
		{"trailing data", append(set(pub(es)), "]"...), []string{"not valid JSON"}},
		{"invalid UTF-8", []byte("{\"keys\":[],\"x\":\"\xff\"}"), []string{"not valid JSON"}},
		{"not JSON", []byte(`keys`), []string{"not valid JSON"}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := keys.ParseJWKS(tt.data)
			if err == nil {
				t.Fatalf("ParseJWKS succeeded: %v", ks)
			}
			wantErr(t, err, tt.parts...)
		})
	}
}
