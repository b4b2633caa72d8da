package keyseal_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

var (
	secretA = []byte("secret A: 0123456789abcdefghijklmnopqrstuvwxyz")
	secretB = []byte("secret B: 0123456789abcdefghijklmnopqrstuvwxyz")
	secretC = []byte("secret C: 0123456789abcdefghijklmnopqrstuvwxyz")
	jwk     = []byte(`{"kty":"EC","crv":"P-256","kid":"k1","x":"WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis","y":"y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE","d":"Hndv7ZZjs_ke8o9zXYo3iq-Yr8SewI5vrqd0pAvEPqg"}`)
)

func mustNew(t *testing.T, current []byte, previous ...[]byte) *keyseal.Sealer {
	t.Helper()
	s, err := keyseal.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpen(t *testing.T) {
	s := mustNew(t, secretA)
	stored, err := s.Seal("k1", jwk)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("Hndv7ZZjs")) || bytes.Contains(stored, []byte(`"d"`)) || keyseal.IsClear(stored) {
		t.Fatalf("the sealed value shows the key: %s", stored)
	}
	if want := "v1:" + keyseal.Fingerprint(secretA) + ":"; !bytes.HasPrefix(stored, []byte(want)) {
		t.Errorf("sealed value %q does not start with %q", stored, want)
	}
	got, err := s.Open("k1", stored)
	if err != nil || !bytes.Equal(got, jwk) {
		t.Fatalf("Open = %q, %v; want the JWK", got, err)
	}
	again, _ := s.Seal("k1", jwk)
	if bytes.Equal(again, stored) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if !s.Current(stored) || s.Fingerprint() != keyseal.Fingerprint(secretA) || keyseal.FingerprintOf(stored) != s.Fingerprint() {
		t.Error("the value is not reported as sealed under the current secret")
	}
}

// TestRotation: a value sealed under the old secret opens once the old
// secret is previous, a new seal uses the new secret, and without the old
// secret the value is refused as sealed under an unknown secret.
func TestRotation(t *testing.T) {
	old, err := mustNew(t, secretA).Seal("k1", jwk)
	if err != nil {
		t.Fatal(err)
	}
	rotating := mustNew(t, secretB, secretA)
	got, err := rotating.Open("k1", old)
	if err != nil || !bytes.Equal(got, jwk) {
		t.Fatalf("Open under a previous secret = %q, %v", got, err)
	}
	if fps := rotating.Fingerprints(); len(fps) != 2 || fps[0] != keyseal.Fingerprint(secretB) || fps[1] != keyseal.Fingerprint(secretA) {
		t.Errorf("Fingerprints = %v, want the new secret's then the old one's", fps)
	}
	if rotating.Current(old) {
		t.Error("a value under the previous secret is reported current")
	}
	resealed, err := rotating.Seal("k1", got)
	if err != nil || keyseal.FingerprintOf(resealed) != keyseal.Fingerprint(secretB) {
		t.Fatalf("reseal under %s: %q, %v", keyseal.Fingerprint(secretB), resealed, err)
	}
	done := mustNew(t, secretB)
	if _, err := done.Open("k1", resealed); err != nil {
		t.Fatalf("resealed value under the new secret alone: %v", err)
	}
	_, err = done.Open("k1", old)
	var se *keyseal.Error
	if !errors.Is(err, keyseal.ErrUnknownSecret) || !errors.As(err, &se) || se.KeyID != "k1" || se.Fingerprint != keyseal.Fingerprint(secretA) {
		t.Fatalf("old value without the old secret: %v, want ErrUnknownSecret naming k1 and %s", err, keyseal.Fingerprint(secretA))
	}
}

// TestOpenRefuses: one case per refusal of Open.
func TestOpenRefuses(t *testing.T) {
	s := mustNew(t, secretA, secretB)
	sealed, err := s.Seal("k1", jwk)
	if err != nil {
		t.Fatal(err)
	}
	underC, _ := mustNew(t, secretC).Seal("k1", jwk)
	fp := keyseal.Fingerprint(secretA)
	data := string(sealed[len("v1:"+fp+":"):])
	raw, _ := base64.RawURLEncoding.DecodeString(data)
	flip := func(i int) []byte {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return []byte("v1:" + fp + ":" + base64.RawURLEncoding.EncodeToString(b))
	}
	for _, tc := range []struct {
		name   string
		sealer *keyseal.Sealer
		kid    string
		stored []byte
		want   error
	}{
		{"another key's row (AAD)", s, "k2", sealed, keyseal.ErrNotAuthentic},
		{"flipped nonce bit", s, "k1", flip(0), keyseal.ErrNotAuthentic},
		{"flipped ciphertext bit", s, "k1", flip(20), keyseal.ErrNotAuthentic},
		{"flipped tag bit", s, "k1", flip(len(raw) - 1), keyseal.ErrNotAuthentic},
		{"truncated", s, "k1", sealed[:len(sealed)-4], keyseal.ErrNotAuthentic},
		{"shorter than nonce and tag", s, "k1", []byte("v1:" + fp + ":AAAA"), keyseal.ErrNotAuthentic},
		{"fingerprint swapped to another configured secret", s, "k1", []byte("v1:" + keyseal.Fingerprint(secretB) + ":" + data), keyseal.ErrNotAuthentic},
		{"unknown secret", s, "k1", underC, keyseal.ErrUnknownSecret},
		{"no secret configured", nil, "k1", sealed, keyseal.ErrNoSecret},
		{"clear with a secret configured", s, "k1", jwk, keyseal.ErrClear},
		{"unknown version", s, "k1", []byte("v2:" + fp + ":" + data), keyseal.ErrMalformed},
		{"no fingerprint", s, "k1", []byte("v1:" + data), keyseal.ErrMalformed},
		{"upper-case fingerprint", s, "k1", []byte("v1:" + strings.ToUpper(fp) + ":" + data), keyseal.ErrMalformed},
		{"data not base64url", s, "k1", []byte("v1:" + fp + ":" + data + "!"), keyseal.ErrMalformed},
		{"empty", s, "k1", nil, keyseal.ErrMalformed},
		{"garbage, no secret", nil, "k1", []byte("garbage"), keyseal.ErrMalformed},
		{"too long", s, "k1", append([]byte("v1:"+fp+":"), bytes.Repeat([]byte("A"), keyseal.MaxStoredBytes)...), keyseal.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.sealer.Open(tc.kid, tc.stored)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %q, %v; want %v", got, err, tc.want)
			}
			var se *keyseal.Error
			if !errors.As(err, &se) || se.KeyID != tc.kid || !strings.Contains(err.Error(), "signing key "+tc.kid+" ") {
				t.Errorf("error %q does not name the key %s", err, tc.kid)
			}
			for _, secret := range [][]byte{secretA, secretB, secretC} {
				if strings.Contains(err.Error(), string(secret)) {
					t.Errorf("error %q holds a secret", err)
				}
			}
			if strings.Contains(err.Error(), "Hndv7ZZjs") {
				t.Errorf("error %q holds the private key", err)
			}
		})
	}
}

func TestNoSecretKeepsClear(t *testing.T) {
	var s *keyseal.Sealer
	stored, err := s.Seal("k1", jwk)
	if err != nil || !bytes.Equal(stored, jwk) {
		t.Fatalf("nil Sealer Seal = %q, %v; want the value as is", stored, err)
	}
	got, err := s.Open("k1", stored)
	if err != nil || !bytes.Equal(got, jwk) {
		t.Fatalf("nil Sealer Open = %q, %v", got, err)
	}
	if s.Fingerprint() != "" || !s.Current(jwk) {
		t.Error("a nil Sealer names a secret, or does not hold a clear value current")
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		current  []byte
		previous [][]byte
		want     string
	}{
		{"short current", []byte("too short"), nil, "the current secret: the secret is 9 bytes; a key-encryption secret needs at least 32"},
		{"empty current", nil, nil, "the current secret: the secret is 0 bytes"},
		{"short previous", secretA, [][]byte{secretB, []byte("short")}, "previous secret 2: the secret is 5 bytes"},
		{"huge", bytes.Repeat([]byte("x"), keyseal.MaxSecretBytes+1), nil, "more than 4096"},
		{"duplicate", secretA, [][]byte{secretB, secretA}, "previous secret 2 is the same secret as an earlier one (fingerprint " + keyseal.Fingerprint(secretA) + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := keyseal.New(tc.current, tc.previous...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error with %q", s, err, tc.want)
			}
			if len(tc.current) > 0 && strings.Contains(err.Error(), string(tc.current)) {
				t.Errorf("error %q holds the secret", err)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	a, b := keyseal.GenerateSecret(), keyseal.GenerateSecret()
	if a == b || len(a) != 43 {
		t.Fatalf("GenerateSecret = %q, %q", a, b)
	}
	if err := keyseal.CheckSecret([]byte(a)); err != nil {
		t.Fatal(err)
	}
	if fp := keyseal.Fingerprint([]byte(a)); len(fp) != 16 || fp == keyseal.Fingerprint([]byte(b)) || strings.Contains(a, fp) {
		t.Errorf("Fingerprint = %q", fp)
	}
}

func TestIsClear(t *testing.T) {
	for in, want := range map[string]bool{`{"kty":"EC"}`: true, " \n{}": true, "v1:00:AA": false, "": false, "[]": false} {
		if got := keyseal.IsClear([]byte(in)); got != want {
			t.Errorf("IsClear(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzOpen: no stored value panics Open, and only a value sealed for the
// key opens.
func FuzzOpen(f *testing.F) {
	s, err := keyseal.New(secretA, secretB)
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := s.Seal("k1", jwk)
	f.Add(sealed)
	f.Add(jwk)
	f.Add([]byte("v1:" + keyseal.Fingerprint(secretB) + ":AAAA"))
	f.Add([]byte("v1::"))
	f.Add([]byte("v9:zz:%%"))
	f.Fuzz(func(t *testing.T, stored []byte) {
		got, err := s.Open("k1", stored)
		if err == nil && !bytes.Equal(got, jwk) {
			t.Fatalf("Open accepted %q as %q", stored, got)
		}
		if err == nil && !bytes.Equal(stored, sealed) && keyseal.FingerprintOf(stored) == "" {
			t.Fatalf("Open accepted a value without a fingerprint: %q", stored)
		}
	})
}

func TestReseal(t *testing.T) {
	old, _ := mustNew(t, secretA).Seal("k1", jwk)
	s := mustNew(t, secretB, secretA)
	for _, tc := range []struct {
		name    string
		stored  []byte
		changed bool
	}{
		{"clear", jwk, true},
		{"previous secret", old, true},
	} {
		out, changed, err := s.Reseal("k1", tc.stored)
		if err != nil || changed != tc.changed || !s.Current(out) {
			t.Fatalf("%s: Reseal = %q, %v, %v", tc.name, out, changed, err)
		}
		again, changed, err := s.Reseal("k1", out)
		if err != nil || changed || !bytes.Equal(again, out) {
			t.Fatalf("%s: Reseal of a current value = %q, %v, %v; want it unchanged", tc.name, again, changed, err)
		}
		if _, _, err := s.Reseal("k2", out); !errors.Is(err, keyseal.ErrNotAuthentic) {
			t.Fatalf("%s: Reseal as another key = %v, want ErrNotAuthentic", tc.name, err)
		}
	}
	under, _ := mustNew(t, secretC).Seal("k1", jwk)
	if _, _, err := s.Reseal("k1", under); !errors.Is(err, keyseal.ErrUnknownSecret) {
		t.Errorf("Reseal under an unknown secret = %v", err)
	}
	var none *keyseal.Sealer
	if _, _, err := none.Reseal("k1", jwk); err == nil {
		t.Error("Reseal without a secret succeeded")
	}
}
