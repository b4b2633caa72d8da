package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/dpop"
)

// Two 'gatehouse serve' auth servers of one issuer on the same Redis, with
// nonces from one secret file: a nonce of one is good at the other, and a
// proof accepted by one is refused by the other.
func TestServeSharesDPoPReplayAndNonces(t *testing.T) {
	rurl := revokeRedisURL(t)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "nonce.key")
	if err := os.WriteFile(secretFile, []byte(strings.Repeat("n", 40)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(issuer, addr string) string {
		return fmt.Sprintf("authserver:\n  issuer: %s\n  listen: %s\n  data: %s\n  redis: %s\n"+
			"  dpop:\n    nonce: true\n    nonce_secret_file: %s\n"+
			"  clients:\n    - id: svc\n      secret: a-secret-of-16-or-more\n      grants: [client_credentials]\n      scopes: [orders:read]\n      audiences: [orders]\n",
			issuer, addr, filepath.Join(dir, addr), rurl, secretFile)
	}
	a := startServe(t, t.TempDir(), func(addr string) string { return config("http://"+addr, addr) })
	b := startServe(t, t.TempDir(), func(addr string) string { return config(a.url, addr) })
	if !strings.Contains(a.stderr.String(), "proof jtis are recorded in redis") {
		t.Fatalf("serve does not say where proof jtis go; stderr:\n%s", a.stderr)
	}
	s, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	post := func(srv *served, proof string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.url+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc", "a-secret-of-16-or-more")
		req.Header.Set("DPoP", proof)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("DPoP-Nonce")
	}
	p, _ := s.Proof("POST", a.url+"/oauth2/token", "", "")
	status, nonce := post(a, p)
	if status != http.StatusBadRequest || nonce == "" {
		t.Fatalf("without a nonce: %d, nonce %q", status, nonce)
	}
	p, _ = s.Proof("POST", a.url+"/oauth2/token", "", nonce)
	if status, _ := post(a, p); status != http.StatusOK {
		t.Fatalf("with a's nonce at a: %d; stderr:\n%s", status, a.stderr)
	}
	if status, _ := post(b, p); status != http.StatusBadRequest {
		t.Fatalf("the same proof at b: %d, want 400 (replay)", status)
	}
	p, _ = s.Proof("POST", a.url+"/oauth2/token", "", nonce)
	if status, _ := post(b, p); status != http.StatusOK {
		t.Fatalf("a fresh proof with a's nonce at b: %d; stderr:\n%s", status, b.stderr)
	}
}

// A nonce secret that cannot be read stops serve with FILE:LINE and the key.
func TestServeRefusesABadDPoPNonceSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.yaml")
	cfg := fmt.Sprintf("authserver:\n  issuer: http://127.0.0.1:1\n  listen: 127.0.0.1:0\n  data: %s\n  dpop:\n    nonce: true\n    nonce_secret_env: GATEHOUSE_TEST_NO_SUCH_VARIABLE\n", filepath.Join(dir, "data"))
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	code := run([]string{"serve", "--config", file}, strings.NewReader(""), &syncBuffer{}, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "gatehouse.yaml:6: authserver.dpop.nonce_secret_env") || strings.Contains(stderr.String(), "auth server listening") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
}
