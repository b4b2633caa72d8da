package main

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// Two 'gatehouse serve' auth servers of one issuer on the same Redis (each
// with a store of its own, seeded with the same private_key_jwt client):
// a client assertion accepted by one is refused by the other.
func TestServeRefusesAssertionReplayedToAnotherInstance(t *testing.T) {
	rurl := revokeRedisURL(t)
	dir := t.TempDir()
	key, err := keys.Generate(keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := keys.MarshalJWKS(key)
	if err != nil {
		t.Fatal(err)
	}
	jwksFile := filepath.Join(dir, "signer.jwks")
	if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	clientID := "signer-" + strings.ToLower(rand.Text()[:8])
	config := func(issuer, addr string) string {
		return fmt.Sprintf("authserver:\n  issuer: %s\n  listen: %s\n  data: %s\n  redis: %s\n"+
			"  clients:\n    - id: %s\n      grants: [client_credentials]\n      scopes: [orders:read]\n      audiences: [orders]\n      jwks_file: %s\n",
			issuer, addr, filepath.Join(dir, addr), rurl, clientID, jwksFile)
	}
	a := startServe(t, t.TempDir(), func(addr string) string { return config("http://"+addr, addr) })
	b := startServe(t, t.TempDir(), func(addr string) string { return config(a.url, addr) })

	now := time.Now()
	assertion, err := token.SignClaims(key, "JWT", token.Claims{Issuer: clientID, Subject: clientID, Audience: token.Audience{a.url},
		IssuedAt: token.At(now), ExpiresAt: token.At(now.Add(time.Minute)), ID: rand.Text()})
	if err != nil {
		t.Fatal(err)
	}
	post := func(s *served) int {
		resp, err := http.PostForm(s.url+"/oauth2/token", url.Values{"grant_type": {"client_credentials"},
			"client_assertion_type": {authserver.AssertionType}, "client_assertion": {assertion}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(a); got != http.StatusOK {
		t.Fatalf("the assertion at a: %d, want 200; stderr:\n%s", got, a.stderr)
	}
	if got := post(b); got != http.StatusBadRequest {
		t.Fatalf("the same assertion at b: %d, want 400 (replay); stderr:\n%s", got, b.stderr)
	}
}
