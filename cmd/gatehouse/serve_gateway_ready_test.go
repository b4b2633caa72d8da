package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// TestServeGatewayIssuerDownAtStart: 'gatehouse serve' with a gateway
// whose issuer (found by discovery) does not answer at start starts
// anyway, logs the URL, answers 503 problems on the issuer's routes and is
// not ready; when the issuer comes up, /readyz turns ready and tokens pass.
func TestServeGatewayIssuerDownAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuerAddr := ln.Addr().String()
	ln.Close() // refused until the issuer starts below
	issuer := "http://" + issuerAddr
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "orders") }))
	t.Cleanup(upstream.Close)

	dir := t.TempDir()
	file := filepath.Join(dir, "gatehouse.yaml")
	listen, admin := freeAddr(t), freeAddr(t)
	if err := os.WriteFile(file, []byte(fmt.Sprintf(`gateway:
  listen: %s
  admin_listen: %s
  issuers:
    - {name: main, issuer: "%s", audiences: [orders]}
  routes:
    - {name: orders, path: /orders, upstreams: ["%s"], auth: jwt}
`, listen, admin, issuer, upstream.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"serve", "--config", file}, strings.NewReader(""), &syncBuffer{}, stderr)
	}()
	get := func(url, bearer string) (int, http.Header, string) {
		req, _ := http.NewRequest("GET", url, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := (&http.Client{Timeout: 2 * time.Second}).Do(req)
		if err != nil {
			return 0, nil, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			select {
			case code := <-done:
				t.Fatalf("serve exited %d; stderr:\n%s", code, stderr)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s; stderr:\n%s", what, stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	key, err := keys.Generate(keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := token.NewIssuer(issuer, staticSigner{key})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := iss.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{"orders"}})
	if err != nil {
		t.Fatal(err)
	}

	var status int
	var header http.Header
	var body string
	waitFor("the gateway answers", func() bool {
		status, header, body = get("http://"+listen+"/orders", tok)
		return status != 0
	})
	if status != http.StatusServiceUnavailable || header.Get("Content-Type") != problem.ContentType ||
		!strings.Contains(body, problem.TypeUnavailable) || !strings.Contains(body, "signing keys of issuer "+issuer) {
		t.Fatalf("a request before the issuer's keys: %d %s", status, body)
	}
	if !strings.Contains(stderr.String(), "no signing keys yet") || !strings.Contains(stderr.String(), issuer+"/.well-known/openid-configuration") {
		t.Errorf("the start-up log does not name the issuer's URL:\n%s", stderr)
	}
	if code, _, body := get("http://"+admin+"/readyz", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "issuer main") {
		t.Errorf("/readyz before the keys: %d %s", code, body)
	}

	jwks, err := keys.MarshalJWKS(key)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, issuer, issuer+"/jwks")
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) { w.Write(jwks) })
	late := httptest.NewUnstartedServer(mux)
	if late.Listener, err = net.Listen("tcp", issuerAddr); err != nil {
		t.Fatalf("the issuer's address was taken meanwhile: %v", err)
	}
	late.Start()
	t.Cleanup(late.Close)

	waitFor("/readyz turns ready", func() bool {
		code, _, _ := get("http://"+admin+"/readyz", "")
		return code == http.StatusOK
	})
	if code, _, body := get("http://"+listen+"/orders", tok); code != http.StatusOK || body != "orders" {
		t.Fatalf("a request once the keys arrived: %d %s", code, body)
	}
}

// staticSigner signs with one key (token.SigningKeys).
type staticSigner struct{ k *keys.Key }

func (s staticSigner) SigningKey() *keys.Key { return s.k }
