package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// writePair writes a fresh self-signed certificate for cn and its key to
// certFile and keyFile, and returns the certificate's DER.
func writePair(t *testing.T, certFile, keyFile, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{cn}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return der
}

// TestMTLSCertificateReload: the mutual-TLS listener serves a renewed
// certificate once its files change (checked at most every
// certCheckEvery), and keeps the one it has, with a warning, when the new
// files do not load.
func TestMTLSCertificateReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		first := writePair(t, certFile, keyFile, "auth-a.test")
		var logs bytes.Buffer
		c := &certFiles{certFile: certFile, keyFile: keyFile, log: slog.New(slog.NewTextHandler(&logs, nil))}
		if err := c.load(); err != nil {
			t.Fatal(err)
		}
		serving := func() []byte {
			t.Helper()
			cert, err := c.get(&tls.ClientHelloInfo{})
			if err != nil || cert == nil {
				t.Fatalf("get: %v, %v", cert, err)
			}
			return cert.Certificate[0]
		}
		if !bytes.Equal(serving(), first) {
			t.Fatal("the loaded certificate is not served")
		}

		second := writePair(t, certFile, keyFile, "auth-b.test")
		if !bytes.Equal(serving(), first) {
			t.Fatal("the files were read again before certCheckEvery")
		}
		time.Sleep(certCheckEvery)
		if !bytes.Equal(serving(), second) {
			t.Fatal("the renewed certificate is not served after certCheckEvery")
		}
		if !strings.Contains(logs.String(), "reloaded") {
			t.Errorf("no log line says the certificate was reloaded:\n%s", logs.String())
		}

		if err := os.WriteFile(certFile, []byte("not a certificate, and longer than before"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(certCheckEvery)
		if !bytes.Equal(serving(), second) {
			t.Fatal("a certificate file that does not load replaced the one served")
		}
		if !strings.Contains(logs.String(), "does not load; serving the previous one") {
			t.Errorf("no warning for the file that does not load:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "PRIVATE KEY") {
			t.Error("the log holds key material")
		}
	})
}
