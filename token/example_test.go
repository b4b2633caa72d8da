package token_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// An issuer signs an access token; a service verifies it with the issuer's
// public key and reads the caller's claims.
func ExampleVerifier_Verify() {
	key, err := keys.Generate(keys.ES256)
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := token.NewIssuer("https://auth.example", key)
	if err != nil {
		log.Fatal(err)
	}
	raw, err := issuer.AccessToken(token.Claims{
		Subject:  "alice",
		Audience: token.Audience{"orders"},
		Scope:    "orders:read",
		Org:      "acme",
	})
	if err != nil {
		log.Fatal(err)
	}

	// The service side: built once, shared by every request.
	src, err := keys.NewStatic(key.PublicKey())
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(src, "https://auth.example", "orders")
	if err != nil {
		log.Fatal(err)
	}
	claims, err := verifier.Verify(context.Background(), raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.Org, claims.HasScope("orders:read"))

	// A token for another service is refused, and the error says why.
	other, _ := issuer.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{"payments"}})
	_, err = verifier.Verify(context.Background(), other)
	fmt.Println(errors.Is(err, token.ErrAudience), err)
	// Output:
	// alice acme true
	// true token: wrong audience: aud does not contain "orders"
}

// Service A calls service B on behalf of a user with a token of its own,
// valid for B only and for seconds (the shared-secret mode of simple
// deployments).
func ExampleIssuer_ServiceToken() {
	secret, err := keys.Generate(keys.HS256, keys.WithID("accounts-to-admin"))
	if err != nil {
		log.Fatal(err)
	}
	accounts, _ := token.NewIssuer("accounts", secret)
	raw, err := accounts.ServiceToken("alice", "admin", 30*time.Second, token.Claims{})
	if err != nil {
		log.Fatal(err)
	}

	src, _ := keys.NewStatic(secret)
	admin, _ := token.NewVerifier(src, "accounts", "admin", token.WithAlgorithms(keys.HS256))
	claims, err := admin.Verify(context.Background(), raw)
	fmt.Println(claims.Subject, claims.ExpiresAt-claims.IssuedAt, err)
	// Output: alice 30 <nil>
}

// A service verifies the tokens of an issuer from its URL alone, in two
// calls at start-up, as go-oidc's NewProvider and Verifier do:
// keys.NewRemoteFromIssuer reads the issuer's discovery document and
// fetches its JWKS (refetched on rotation), and NewVerifier checks tokens
// of that issuer for the service's audience. (In tests,
// tokentest.NewIssuer runs such an issuer.)
func ExampleNewVerifier_fromIssuer() {
	// An issuer for the example: its discovery document and JWKS.
	key, err := keys.Generate(keys.ES256, keys.WithID("2026-01"))
	if err != nil {
		log.Fatal(err)
	}
	jwks, _ := keys.MarshalJWKS(key)
	var issuerURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, issuerURL, issuerURL+"/jwks")
		case "/jwks":
			w.Write(jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	issuerURL = srv.URL
	issuer, _ := token.NewIssuer(issuerURL, key)

	// The service.
	ctx := context.Background()
	src, err := keys.NewRemoteFromIssuer(ctx, issuerURL)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(src, issuerURL, "orders")
	if err != nil {
		log.Fatal(err)
	}

	raw, _ := issuer.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{"orders"}})
	claims, err := verifier.Verify(ctx, raw)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.Audience)
	// Output: alice [orders]
}
