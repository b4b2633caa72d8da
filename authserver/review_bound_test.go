package authserver_test

import (
	"context"
	"crypto/x509/pkix"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/identity"
)

// Adversarial review of the sender-constrained tokens at the auth server
// (issue 15): each test is an attack and asserts the refusal.

// A certificate-bound access token of a user (cnf.x5t#S256, RFC 8705 §3)
// stolen and presented at /userinfo as a plain Bearer token, with no
// certificate or with another one, is refused: userinfo is a protected
// resource and must check the binding like guard does. Its holder, over
// the mTLS listener with its certificate, gets the answer.
func TestReviewCertificateBoundTokenAtUserinfo(t *testing.T) {
	m := newMTLSEnv(t)
	if err := m.store.CreateClient(context.Background(), &identity.Client{ID: "boundcli", SecretHash: mustHash(t, boundSecret),
		CertificateBoundTokens: true, Grants: []string{identity.GrantPassword}, Scopes: []string{"openid", "email"}, Audiences: []string{"payments"}}); err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t, nil, pkix.Name{CommonName: "holder"})
	holder := httpsClient(m.mtls, cert)
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword}, "scope": {"openid email"},
		"client_id": {"boundcli"}, "client_secret": {boundSecret}}
	status, out := tokenRequest(t, holder, m.mtls.URL, form)
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, out)
	}
	at, _ := out["access_token"].(string)
	if c := m.boundClaims(t, at); !c.BoundToCertificate(cert.Leaf.Raw) {
		t.Fatalf("cnf = %+v, want the holder's certificate", c.Confirmation)
	}
	userinfo := func(client *http.Client, base, authz string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/userinfo", nil)
		req.Header.Set("Authorization", authz)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	other := selfSigned(t, nil, pkix.Name{CommonName: "thief"})
	for _, tc := range []struct {
		name   string
		client *http.Client
		base   string
		authz  string
	}{
		{"main listener, no certificate", http.DefaultClient, m.url, "Bearer " + at},
		{"mTLS listener, no certificate", httpsClient(m.mtls, nil), m.mtls.URL, "Bearer " + at},
		{"mTLS listener, another certificate", httpsClient(m.mtls, other), m.mtls.URL, "Bearer " + at},
		{"DPoP scheme", holder, m.mtls.URL, "DPoP " + at},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := userinfo(tc.client, tc.base, tc.authz)
			if status != http.StatusUnauthorized || body["error"] != "invalid_token" {
				t.Fatalf("stolen certificate-bound token at userinfo: %d %v, want 401 invalid_token", status, body)
			}
			desc := body["error_description"].(string)
			if strings.Contains(desc, at[:20]) {
				t.Fatalf("the answer quotes the token")
			}
			// Every answer, the DPoP scheme's too, says what the token
			// is bound to: a certificate.
			if !strings.Contains(desc, "bound to a client certificate") {
				t.Fatalf("error_description %q does not say the token is certificate-bound", desc)
			}
		})
	}
	if status, body := userinfo(holder, m.mtls.URL, "Bearer "+at); status != http.StatusOK || body["email"] != "alice@acme.test" {
		t.Fatalf("the holder over mTLS: %d %v", status, body)
	}
}

// A pushed request lives PushedRequestTTL (60s) and is taken once (RFC
// 9126 §2.2, §4). The login form names it again by a request_uri of its
// own for loginRequestTTL (10m), for POST /login: that request_uri must
// not start a new authorization at /oauth2/authorize, or whoever holds
// one request_uri can keep the pushed request alive for ever, 10 minutes
// at a time, past its lifetime and its single use.
func TestReviewLoginRequestURIIsNoPushedRequest(t *testing.T) {
	e := newEnv(t)
	uri := pushed(t, e, spaRequest(), "", "")
	status, page := getStatus(t, authorizeURL(e, "spa", uri))
	if status != http.StatusOK {
		t.Fatalf("authorize: %d %s", status, page)
	}
	const field = `name="request_uri" value="`
	i := strings.Index(page, field)
	if i < 0 {
		t.Fatalf("the login form has no request_uri: %s", page)
	}
	formURI := page[i+len(field):]
	formURI = formURI[:strings.IndexByte(formURI, '"')]
	if formURI == uri {
		t.Fatal("the login form repeats the pushed request_uri")
	}
	if status, page := getStatus(t, authorizeURL(e, "spa", formURI)); status != http.StatusBadRequest {
		t.Fatalf("the login form's request_uri at /oauth2/authorize: %d, want 400 (%.200s)", status, page)
	}
}
