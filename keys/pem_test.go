package keys_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// selfSigned returns a DER certificate for the public key of signer.
func selfSigned(t testing.TB, signer crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gatehouse test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParsePEM(t *testing.T) {
	ecKey := testKey(t, keys.ES256)
	edKey := testKey(t, keys.EdDSA)
	rsKey := testKey(t, keys.RS256)
	ecPriv := must[*ecdsa.PrivateKey](t)(ecdsaOf(t, ecKey))
	rsaPub := rsKey.Public().(*rsa.PublicKey)

	// The private material, recovered through PKCS#8 from the generated keys.
	pk8 := func(k *keys.Key) []byte {
		t.Helper()
		return must[[]byte](t)(x509.MarshalPKCS8PrivateKey(signerOf(t, k)))
	}
	pkix := func(k *keys.Key) []byte {
		t.Helper()
		return must[[]byte](t)(x509.MarshalPKIXPublicKey(k.Public()))
	}
	rsaPriv := signerOf(t, rsKey).(*rsa.PrivateKey)

	tests := []struct {
		name    string
		pem     []byte
		opts    []keys.KeyOption
		same    *keys.Key
		alg     keys.Algorithm
		private bool
	}{
		{"PKCS#8 EC", pemBlock("PRIVATE KEY", pk8(ecKey)), nil, ecKey, keys.ES256, true},
		{"PKCS#8 Ed25519", pemBlock("PRIVATE KEY", pk8(edKey)), nil, edKey, keys.EdDSA, true},
		{"PKCS#8 RSA", pemBlock("PRIVATE KEY", pk8(rsKey)), nil, rsKey, keys.RS256, true},
		{"SEC 1 EC", pemBlock("EC PRIVATE KEY", must[[]byte](t)(x509.MarshalECPrivateKey(ecPriv))), nil, ecKey, keys.ES256, true},
		{"PKCS#1 RSA private", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaPriv)), nil, rsKey, keys.RS256, true},
		{"PKCS#1 RSA public", pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(rsaPub)), nil, rsKey, keys.RS256, false},
		{"PKIX EC public", pemBlock("PUBLIC KEY", pkix(ecKey)), nil, ecKey, keys.ES256, false},
		{"PKIX Ed25519 public", pemBlock("PUBLIC KEY", pkix(edKey)), nil, edKey, keys.EdDSA, false},
		{"PKIX RSA public", pemBlock("PUBLIC KEY", pkix(rsKey)), nil, rsKey, keys.RS256, false},
		{"certificate", pemBlock("CERTIFICATE", selfSigned(t, ecPriv)), nil, ecKey, keys.ES256, false},
		{"RSA as PS256", pemBlock("PRIVATE KEY", pk8(rsKey)), []keys.KeyOption{keys.WithAlgorithm(keys.PS256)}, nil, keys.PS256, true},
		{"RSA public as PS256", pemBlock("PUBLIC KEY", pkix(rsKey)), []keys.KeyOption{keys.WithAlgorithm(keys.PS256)}, nil, keys.PS256, false},
		{"EC with explicit ES256", pemBlock("PRIVATE KEY", pk8(ecKey)), []keys.KeyOption{keys.WithAlgorithm(keys.ES256), keys.WithID("pem")}, ecKey, keys.ES256, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := keys.ParsePEM(tt.pem, tt.opts...)
			if err != nil {
				t.Fatalf("ParsePEM: %v", err)
			}
			if len(ks) != 1 {
				t.Fatalf("got %d keys, want 1", len(ks))
			}
			k := ks[0]
			if k.Algorithm() != tt.alg || k.CanSign() != tt.private {
				t.Errorf("got %v, want %s private=%v", k, tt.alg, tt.private)
			}
			if tt.same != nil && !k.SameKey(tt.same) {
				t.Errorf("got %v, not the same key as %v", k, tt.same)
			}
			if tt.same == nil && k.Thumbprint() != rsKey.Thumbprint() {
				t.Errorf("thumbprint %s, want that of the RSA key %s", k.Thumbprint(), rsKey.Thumbprint())
			}
			// Parse and Load dispatch PEM to ParsePEM.
			path := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(path, append([]byte("\n\n"), tt.pem...), 0o600); err != nil {
				t.Fatal(err)
			}
			loaded, err := keys.LoadKey(path, tt.opts...)
			if err != nil || !loaded.SameKey(k) || loaded.ID() != k.ID() {
				t.Errorf("LoadKey = %v, %v; want %v", loaded, err, k)
			}
			if k.CanSign() {
				sig, err := k.Sign(signingInput)
				if err != nil {
					t.Fatal(err)
				}
				if err := k.Verify([]byte(signingInput), sig); err != nil {
					t.Errorf("Verify: %v", err)
				}
			}
		})
	}

	t.Run("WithID", func(t *testing.T) {
		ks := must[[]*keys.Key](t)(keys.ParsePEM(pemBlock("PUBLIC KEY", pkix(ecKey)), keys.WithID("pem-1")))
		if ks[0].ID() != "pem-1" || ks[0].Thumbprint() != ecKey.Thumbprint() {
			t.Errorf("got kid %q", ks[0].ID())
		}
	})
	t.Run("several blocks", func(t *testing.T) {
		data := append(pemBlock("PUBLIC KEY", pkix(ecKey)), pemBlock("PUBLIC KEY", pkix(edKey))...)
		ks, err := keys.ParsePEM(data)
		if err != nil || len(ks) != 2 || !ks[0].SameKey(ecKey) || !ks[1].SameKey(edKey) {
			t.Fatalf("ParsePEM = %v, %v", ks, err)
		}
		_, err = keys.ParsePEM(data, keys.WithID("one"))
		wantErr(t, err, "exactly one PEM block")
	})
}

func TestParsePEMRefusals(t *testing.T) {
	rsKey := testKey(t, keys.RS256)
	rsaPKCS8 := pemBlock("PRIVATE KEY", must[[]byte](t)(x509.MarshalPKCS8PrivateKey(signerOf(t, rsKey))))
	p384 := must[*ecdsa.PrivateKey](t)(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	x25519 := must[*ecdh.PrivateKey](t)(ecdh.X25519().GenerateKey(rand.Reader))
	rsa1024 := must[*rsa.PrivateKey](t)(rsa.GenerateKey(rand.Reader, 1024))

	tests := []struct {
		name  string
		pem   []byte
		opts  []keys.KeyOption
		parts []string
	}{
		{"RSA PEM declared ES256", rsaPKCS8, []keys.KeyOption{keys.WithAlgorithm(keys.ES256)}, []string{"RSA", "ES256"}},
		{"RSA PEM declared EdDSA", rsaPKCS8, []keys.KeyOption{keys.WithAlgorithm(keys.EdDSA)}, []string{"RSA", "EdDSA"}},
		{"RSA PEM declared HS256", rsaPKCS8, []keys.KeyOption{keys.WithAlgorithm(keys.HS256)}, []string{"RSA", "HS256"}},
		{"P-384", pemBlock("PRIVATE KEY", must[[]byte](t)(x509.MarshalPKCS8PrivateKey(p384))), nil, []string{"P-384"}},
		{"X25519", pemBlock("PRIVATE KEY", must[[]byte](t)(x509.MarshalPKCS8PrivateKey(x25519))), nil, []string{"unsupported key material"}},
		{"RSA 1024", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa1024)), nil, []string{"2048"}},
		{"unknown block", pemBlock("OPENSSH PRIVATE KEY", []byte{1, 2, 3}), nil, []string{"OPENSSH PRIVATE KEY"}},
		{"corrupt DER", pemBlock("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}), nil, []string{`"PRIVATE KEY"`}},
		{"no block", []byte("-----BEGIN nothing"), nil, []string{"no PEM block"}},
		{"data after the block", append(rsaPKCS8, "garbage"...), nil, []string{"after the last PEM block"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := keys.ParsePEM(tt.pem, tt.opts...)
			if err == nil {
				t.Fatalf("ParsePEM succeeded: %v", ks)
			}
			wantErr(t, err, tt.parts...)
		})
	}
	_, err := keys.ParsePEM(pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsa1024)))
	if !errors.Is(err, keys.ErrWeakKey) {
		t.Errorf("RSA 1024 PEM: %v, want ErrWeakKey", err)
	}
}

// signerOf returns the private key of k, recovered through its private JWK so
// that the test does not depend on internals.
func signerOf(t testing.TB, k *keys.Key) crypto.Signer {
	t.Helper()
	m := jsonObject(t, must[[]byte](t)(k.PrivateJWK()))
	switch k.Algorithm() {
	case keys.ES256:
		return must[*ecdsa.PrivateKey](t)(ecdsaOf(t, k))
	case keys.EdDSA:
		return ed25519.NewKeyFromSeed(unb64(t, m["d"].(string)))
	case keys.RS256, keys.PS256:
		n := new(big.Int).SetBytes(unb64(t, m["n"].(string)))
		priv := &rsa.PrivateKey{
			PublicKey: rsa.PublicKey{N: n, E: int(new(big.Int).SetBytes(unb64(t, m["e"].(string))).Int64())},
			D:         new(big.Int).SetBytes(unb64(t, m["d"].(string))),
			Primes: []*big.Int{
				new(big.Int).SetBytes(unb64(t, m["p"].(string))),
				new(big.Int).SetBytes(unb64(t, m["q"].(string))),
			},
		}
		priv.Precompute()
		return priv
	}
	t.Fatalf("no signer for %s", k.Algorithm())
	return nil
}

func ecdsaOf(t testing.TB, k *keys.Key) (*ecdsa.PrivateKey, error) {
	t.Helper()
	m := jsonObject(t, must[[]byte](t)(k.PrivateJWK()))
	return ecdsa.ParseRawPrivateKey(elliptic.P256(), unb64(t, m["d"].(string)))
}
