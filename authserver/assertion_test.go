package authserver_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// jwtClient registers a client "signer" that authenticates with
// private_key_jwt and returns its private key.
func jwtClient(t *testing.T, e *env) *keys.Key {
	t.Helper()
	key, err := keys.Generate(keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := keys.MarshalJWKS(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateClient(context.Background(), &identity.Client{ID: "signer", JWKS: string(jwks),
		Grants: []string{identity.GrantClientCredentials}, Scopes: []string{"orders:read"}, Audiences: []string{"orders"}}); err != nil {
		t.Fatal(err)
	}
	return key
}

// assertion signs a client assertion with key; edit changes its claims.
func assertion(t *testing.T, key *keys.Key, aud string, edit ...func(*token.Claims)) string {
	t.Helper()
	now := time.Now()
	c := token.Claims{Issuer: "signer", Subject: "signer", Audience: token.Audience{aud},
		IssuedAt: token.At(now), ExpiresAt: token.At(now.Add(time.Minute)), ID: randomID(t)}
	for _, f := range edit {
		f(&c)
	}
	raw, err := token.SignClaims(key, "JWT", c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func randomID(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func assertionForm(a string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {authserver.AssertionType}, "client_assertion": {a}}
}

func TestPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	key := jwtClient(t, e)
	tokenURL := e.url + "/oauth2/token"

	// A good assertion, used through golang.org/x/oauth2's endpoint params.
	cc := clientcredentials.Config{ClientID: "signer", TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: assertionForm(assertion(t, key, e.url))}
	delete(cc.EndpointParams, "grant_type")
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("private_key_jwt with a good assertion: %v", err)
	}
	c, err := e.verifier(t, "orders").Verify(context.Background(), tok.AccessToken)
	if err != nil || c.ClientID != "signer" || c.Subject != "signer" {
		t.Fatalf("token of a private_key_jwt client: %+v %v", c, err)
	}
	// The same assertion again: replay.
	if _, err := cc.Token(context.Background()); err == nil || oauthErr(t, err) != "invalid_client" {
		t.Fatalf("a replayed assertion: %v, want invalid_client", err)
	}
	// An assertion whose exp has just passed, within the verifier's leeway:
	// accepted once, never twice.
	late := assertionForm(assertion(t, key, e.url, func(c *token.Claims) { c.ExpiresAt = token.At(time.Now().Add(-5 * time.Second)) }))
	if status, body := post(t, e, "/oauth2/token", late, "", ""); status != http.StatusOK {
		t.Fatalf("an assertion 5s past exp (within the leeway): %d %v", status, body)
	}
	if status, body := post(t, e, "/oauth2/token", late, "", ""); status != http.StatusBadRequest || body["error"] != "invalid_client" {
		t.Fatalf("the same assertion replayed within the leeway: %d %v", status, body)
	}
	// The issuer as a one-value array is the same audience.
	if status, body := post(t, e, "/oauth2/token", assertionForm(assertion(t, key, e.url, func(c *token.Claims) { c.Audience = token.Audience{e.url} })), "", ""); status != http.StatusOK {
		t.Fatalf("aud = [issuer]: %d %v", status, body)
	}

	other, _ := keys.Generate(keys.ES256)
	hs, _ := keys.New(keys.HS256, []byte("a shared secret the server does not have!!"))
	for _, tc := range []struct {
		name   string
		form   url.Values
		basic  [2]string
		status int
		code   string
	}{
		{"signed by another key", assertionForm(assertion(t, other, e.url)), [2]string{}, 400, "invalid_client"},
		{"HS256 (symmetric) assertion", assertionForm(assertion(t, hs, e.url)), [2]string{}, 400, "invalid_client"},
		{"audience of another server", assertionForm(assertion(t, key, "https://elsewhere.example/token")), [2]string{}, 400, "invalid_client"},
		// draft-ietf-oauth-rfc7523bis: the issuer alone. An assertion a
		// client signed for another server that lists this one too (or
		// this one's token endpoint, as such a server's metadata may
		// claim) is not replayable here.
		{"audience injection: issuer and another server", assertionForm(assertion(t, key, e.url, func(c *token.Claims) {
			c.Audience = token.Audience{e.url, "http://evil.example/token"}
		})), [2]string{}, 400, "invalid_client"},
		{"audience: the token endpoint's URL", assertionForm(assertion(t, key, tokenURL)), [2]string{}, 400, "invalid_client"},
		{"audience: the token endpoint and the issuer", assertionForm(assertion(t, key, e.url, func(c *token.Claims) {
			c.Audience = token.Audience{tokenURL, e.url}
		})), [2]string{}, 400, "invalid_client"},
		{"audience: the issuer with a trailing slash", assertionForm(assertion(t, key, e.url+"/")), [2]string{}, 400, "invalid_client"},
		{"expired", assertionForm(assertion(t, key, e.url, func(c *token.Claims) {
			c.ExpiresAt = token.At(time.Now().Add(-time.Hour))
		})), [2]string{}, 400, "invalid_client"},
		{"lives an hour", assertionForm(assertion(t, key, e.url, func(c *token.Claims) {
			c.ExpiresAt = token.At(time.Now().Add(time.Hour))
		})), [2]string{}, 400, "invalid_client"},
		{"no jti", assertionForm(assertion(t, key, e.url, func(c *token.Claims) { c.ID = "" })), [2]string{}, 400, "invalid_client"},
		{"iss is not sub", assertionForm(assertion(t, key, e.url, func(c *token.Claims) { c.Issuer = "cli" })), [2]string{}, 400, "invalid_client"},
		{"sub names a client with a secret", assertionForm(assertion(t, key, e.url, func(c *token.Claims) { c.Issuer, c.Subject = "svc", "svc" })), [2]string{}, 400, "invalid_client"},
		{"unknown client", assertionForm(assertion(t, key, e.url, func(c *token.Claims) { c.Issuer, c.Subject = "nobody", "nobody" })), [2]string{}, 400, "invalid_client"},
		{"alg none", assertionForm(noneAssertion(e.url)), [2]string{}, 400, "invalid_client"},
		{"not a JWT", assertionForm("secret-in-disguise"), [2]string{}, 400, "invalid_client"},
		{"wrong assertion type", func() url.Values {
			f := assertionForm(assertion(t, key, e.url))
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			return f
		}(), [2]string{}, 400, "invalid_request"},
		{"assertion and Basic together", assertionForm(assertion(t, key, e.url)), [2]string{"svc", svcSecret}, 400, "invalid_request"},
		{"client_id differs", func() url.Values {
			f := assertionForm(assertion(t, key, e.url))
			f.Set("client_id", "svc")
			return f
		}(), [2]string{}, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, e, "/oauth2/token", tc.form, tc.basic[0], tc.basic[1])
			if status != tc.status || body["error"] != tc.code {
				t.Fatalf("got %d %v, want %d %s", status, body, tc.status, tc.code)
			}
			if _, ok := body["access_token"]; ok {
				t.Fatal("a refused assertion got a token")
			}
		})
	}
	if strings.Contains(e.logs.String(), "eyJ") {
		t.Fatal("an assertion was logged")
	}
}

// noneAssertion is an unsigned JWT (alg none) naming the client.
func noneAssertion(aud string) string {
	const header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" // {"alg":"none","typ":"JWT"}
	exp := time.Now().Add(time.Minute).Unix()
	payload := `{"iss":"signer","sub":"signer","aud":"` + aud + `","jti":"x","exp":` + strconv.FormatInt(exp, 10) + `}`
	return header + "." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + "."
}

func TestDiscoveryAdvertisesPrivateKeyJWT(t *testing.T) {
	e := newEnv(t)
	resp, err := http.Get(e.url + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	methods, _ := doc["token_endpoint_auth_methods_supported"].([]any)
	found := false
	for _, m := range methods {
		found = found || m == "private_key_jwt"
	}
	if !found {
		t.Fatalf("token_endpoint_auth_methods_supported = %v, want private_key_jwt among them", methods)
	}
	if algs, _ := doc["token_endpoint_auth_signing_alg_values_supported"].([]any); len(algs) == 0 {
		t.Fatal("token_endpoint_auth_signing_alg_values_supported is missing")
	}
}
