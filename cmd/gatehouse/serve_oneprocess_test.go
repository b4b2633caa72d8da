package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"
)

// TestServeOneProcessRevocationReachesGateway is the one-process shape: an
// auth server and a gateway in one 'gatehouse serve', no Redis. A token
// revoked at the auth server is refused by the gateway at once: both use
// the process's one deny list. The start-up log says which list each part
// uses.
func TestServeOneProcessRevocationReachesGateway(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(upstream.Close)
	dir := t.TempDir()
	gwAddr := freeAddr(t)
	const secret = "svc-secret-0123456789abcdef"
	s := startServe(t, dir, func(addr string) string {
		return fmt.Sprintf(`authserver:
  issuer: http://%[1]s
  listen: %[1]s
  data: %[2]s
  clients:
    - id: svc-reports
      secret: %[3]s
      grants: [client_credentials]
      scopes: [reports:read]
      audiences: [gateway]
gateway:
  listen: %[4]s
  admin_listen: "-"
  issuers:
    - {name: local, issuer: "http://%[1]s", audiences: [gateway]}
  routes:
    - {name: reports, path: /reports, upstreams: ["%[5]s"], auth: jwt}
`, addr, filepath.Join(dir, "data"), secret, gwAddr, upstream.URL)
	})
	s.waitGateway(t, gwAddr)
	for _, want := range []string{
		"revocations: the auth server keeps them in this process's deny list",
		"revocations: the gateway checks this process's deny list",
	} {
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("the start-up log does not say %q:\n%s", want, s.stderr)
		}
	}
	cc := clientcredentials.Config{ClientID: "svc-reports", ClientSecret: secret, TokenURL: s.url + "/oauth2/token", Scopes: []string{"reports:read"}}
	status := func(tok string) int {
		req, _ := http.NewRequest("GET", "http://"+gwAddr+"/reports/1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, how := range []string{"revoke", "again"} {
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := status(tok.AccessToken); got != 200 {
			t.Fatalf("%s: before the revocation: %d", how, got)
		}
		req, _ := http.NewRequest(http.MethodPost, s.url+"/oauth2/revoke", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("svc-reports", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		// At once: no wait, no retry.
		if got := status(tok.AccessToken); got != 401 {
			t.Fatalf("%s: the gateway of the same process serves a revoked token: %d", how, got)
		}
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, s.stderr)
	}
}
