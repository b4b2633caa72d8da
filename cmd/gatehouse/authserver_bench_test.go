package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/keys"
)

// BenchmarkClientCredentials measures the auth server as 'gatehouse serve'
// runs it (SQLite store, real HTTP over loopback, keep-alive connections):
// client_credentials token requests from parallel clients. Each request
// authenticates the client (store lookup, cached secret check) and signs
// one ES256 access token. BenchmarkES256Sign is its floor.
func BenchmarkClientCredentials(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), dbFile))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	secret := identity.NewSecret()
	hash, err := identity.HashSecret(secret)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateClient(ctx, &identity.Client{ID: "svc-accounts", SecretHash: hash, Grants: []string{identity.GrantClientCredentials},
		Scopes: []string{"accounts:read"}, Audiences: []string{"accounts"}}); err != nil {
		b.Fatal(err)
	}
	var handler http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer ts.Close()
	srv, err := authserver.New(ctx, authserver.Config{Issuer: ts.URL, Store: st})
	if err != nil {
		b.Fatal(err)
	}
	handler = srv.Handler()

	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	defer hc.CloseIdleConnections()
	body := url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts:read"}}.Encode()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("svc-accounts:"+secret))
	request := func() error {
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/oauth2/token", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", auth)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("token endpoint answered %s", resp.Status)
		}
		return nil
	}
	if err := request(); err != nil { // pays the argon2id check of the secret once
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := request(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkES256Sign is the floor of BenchmarkClientCredentials: the bare
// ES256 signature of a typical access token's signing input, from as many
// goroutines.
func BenchmarkES256Sign(b *testing.B) {
	k, err := keys.Generate(keys.ES256)
	if err != nil {
		b.Fatal(err)
	}
	enc := base64.RawURLEncoding
	header := `{"alg":"ES256","kid":"` + k.ID() + `","typ":"at+jwt"}`
	claims := `{"iss":"http://127.0.0.1:9000","sub":"svc-accounts","aud":["accounts"],"exp":1767225600,"nbf":1767224700,` +
		`"iat":1767224700,"jti":"k3x7q2m4vbnc5dj6hw8ztr9fya","client_id":"svc-accounts","scope":"accounts:read"}`
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := k.Sign(input); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}
