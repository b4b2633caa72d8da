package keys_test

// NewRemoteFromIssuer: the JWKS URL found from the OpenID Connect discovery
// document or RFC 8414 metadata, and the documents it refuses.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/keys"
)

// discoveryServer serves a JWKS at /jwks and the given documents by path,
// with ISSUER replaced by the server's URL.
func discoveryServer(t *testing.T, k *keys.Key, docs map[string]string) *httptest.Server {
	t.Helper()
	body := jwksOf(t, k)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/jwks" {
			w.Write(body)
			return
		}
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(strings.ReplaceAll(doc, "ISSUER", srv.URL)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestNewRemoteFromIssuer(t *testing.T) {
	ctx := context.Background()
	a := newKeyCached(t, keys.ES256, "a")
	const oidc = "/.well-known/openid-configuration"
	tests := []struct {
		name    string
		path    string // appended to the server URL to form the issuer
		docs    map[string]string
		wantErr string // empty: succeeds
	}{
		{"OpenID Connect discovery", "", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"ISSUER/jwks"}`,
		}, ""},
		{"issuer with a path", "/tenant", map[string]string{
			"/tenant" + oidc: `{"issuer":"ISSUER/tenant","jwks_uri":"ISSUER/jwks"}`,
		}, ""},
		{"RFC 8414 fallback", "/tenant", map[string]string{
			"/.well-known/oauth-authorization-server/tenant": `{"issuer":"ISSUER/tenant","jwks_uri":"ISSUER/jwks"}`,
		}, ""},
		{"another issuer", "", map[string]string{
			oidc: `{"issuer":"https://evil.example","jwks_uri":"ISSUER/jwks"}`,
		}, `names issuer "https://evil.example"`},
		{"issuer with a trailing slash", "/", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"ISSUER/jwks"}`,
		}, "want exactly"},
		{"issuer differing in case", "", map[string]string{
			oidc: `{"issuer":"https://evil.example","Issuer":"ISSUER","jwks_uri":"ISSUER/jwks"}`,
		}, "issuer"},
		{"issuer twice", "", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"ISSUER/jwks","issuer":"ISSUER"}`,
		}, "duplicate"},
		{"no jwks_uri", "", map[string]string{
			oidc: `{"issuer":"ISSUER"}`,
		}, "no jwks_uri"},
		{"jwks_uri not http", "", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"file:///etc/passwd"}`,
		}, "JWKS URL"},
		{"not JSON", "", map[string]string{oidc: `<html>`}, "not valid JSON"},
		{"no discovery document", "", nil, "discovery for issuer"},
		{"JWKS unusable", "", map[string]string{
			oidc: `{"issuer":"ISSUER","jwks_uri":"ISSUER/missing"}`,
		}, "status 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := discoveryServer(t, a, tt.docs)
			issuer := srv.URL + tt.path
			r, err := keys.NewRemoteFromIssuer(ctx, issuer, keys.WithClock(newClock().Now))
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("NewRemoteFromIssuer succeeded: %s", r.URL())
				}
				wantErr(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("NewRemoteFromIssuer: %v", err)
			}
			if r.URL() != srv.URL+"/jwks" {
				t.Errorf("URL() = %s", r.URL())
			}
			wantFetches(t, r, nil, 1) // the keys are fetched already
			wantKey(t, r, "a", a)
			wantFetches(t, r, nil, 1)
		})
	}
	if _, err := keys.NewRemoteFromIssuer(ctx, "ftp://example.com"); err == nil {
		t.Error("NewRemoteFromIssuer(ftp) succeeded")
	}
}
