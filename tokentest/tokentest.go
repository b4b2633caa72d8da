// Package tokentest mints valid and invalid tokens for tests, with a fake
// issuer that serves its JWKS and discovery document from an httptest
// server — the way net/http/httptest fakes a server.
//
//	func TestOrders(t *testing.T) {
//		iss := tokentest.NewIssuer(t)
//		v := iss.Verifier() // or point your service at iss.URL / iss.JWKSURL()
//		good := iss.Token(token.Claims{Subject: "alice", Roles: []string{"admin"}})
//		expired := iss.Expired(token.Claims{Subject: "alice"})
//		...
//	}
//
// Everything here is for tests: keys are generated per issuer and never
// persisted.
package tokentest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// DefaultAudience is the audience of minted tokens unless set otherwise.
const DefaultAudience = "test-audience"

// DefaultSubject is the subject of minted tokens whose claims have none.
const DefaultSubject = "test-user"

// Issuer is a fake token issuer for tests. Its URL is the iss of every token
// it mints and serves /.well-known/openid-configuration and
// /.well-known/jwks.json.
type Issuer struct {
	// URL is the issuer identifier and base URL of the httptest server.
	URL string
	// Audience is the aud of minted tokens whose claims have none.
	Audience string

	tb       testing.TB
	key      *keys.Key
	stranger *keys.Key // a key of the same algorithm that the JWKS does not publish
	srv      *httptest.Server
}

// Option configures an [Issuer].
type Option func(*options)

type options struct {
	audience string
}

// WithAudience sets the default audience (default "test-audience").
func WithAudience(aud string) Option { return func(o *options) { o.audience = aud } }

// NewIssuer starts a fake issuer; it stops when the test ends.
func NewIssuer(tb testing.TB, opts ...Option) *Issuer {
	tb.Helper()
	o := options{audience: DefaultAudience}
	for _, opt := range opts {
		opt(&o)
	}
	key, err := keys.Generate(keys.ES256)
	if err != nil {
		tb.Fatalf("tokentest: %v", err)
	}
	stranger, err := keys.Generate(keys.ES256)
	if err != nil {
		tb.Fatalf("tokentest: %v", err)
	}
	i := &Issuer{Audience: o.audience, tb: tb, key: key, stranger: stranger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		body, err := keys.MarshalJWKS(i.key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(body)
	})
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                i.URL,
			"jwks_uri":                              i.URL + "/.well-known/jwks.json",
			"id_token_signing_alg_values_supported": []string{string(keys.ES256)},
		})
	})
	i.srv = httptest.NewServer(mux)
	tb.Cleanup(i.srv.Close)
	i.URL = i.srv.URL
	return i
}

// JWKSURL returns the URL of the issuer's JWKS.
func (i *Issuer) JWKSURL() string { return i.URL + "/.well-known/jwks.json" }

// Key returns the signing key (with its private part).
func (i *Issuer) Key() *keys.Key { return i.key }

// Keys returns a static source of the issuer's public key.
func (i *Issuer) Keys() keys.Source {
	src, err := keys.NewStatic(i.key)
	if err != nil {
		i.tb.Fatalf("tokentest: %v", err)
	}
	return src
}

// Verifier returns a verifier for the issuer's tokens and its default
// audience, with keys fetched from the JWKS URL like a real service would.
func (i *Issuer) Verifier(opts ...token.VerifierOption) *token.Verifier {
	i.tb.Helper()
	src, err := keys.NewRemote(i.JWKSURL())
	if err != nil {
		i.tb.Fatalf("tokentest: %v", err)
	}
	v, err := token.NewVerifier(src, i.URL, i.Audience, opts...)
	if err != nil {
		i.tb.Fatalf("tokentest: %v", err)
	}
	return v
}

func (i *Issuer) defaults(c token.Claims) token.Claims {
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if len(c.Audience) == 0 {
		c.Audience = token.Audience{i.Audience}
	}
	return c
}

func (i *Issuer) sign(key *keys.Key, c token.Claims) string {
	i.tb.Helper()
	c.Issuer = i.URL
	now := time.Now()
	if c.IssuedAt == 0 {
		c.IssuedAt = token.At(now)
	}
	if c.ExpiresAt == 0 {
		c.ExpiresAt = token.At(now.Add(token.DefaultAccessTokenTTL))
	}
	if c.ID == "" {
		c.ID = rand.Text()
	}
	raw, err := token.SignClaims(key, token.TypeAccessToken, c)
	if err != nil {
		i.tb.Fatalf("tokentest: %v", err)
	}
	return raw
}

// Token mints a valid access token with the given claims. A missing sub is
// "test-user", a missing aud the issuer's audience; iss, iat, exp (15
// minutes) and jti are filled in where zero.
func (i *Issuer) Token(c token.Claims) string {
	i.tb.Helper()
	return i.sign(i.key, i.defaults(c))
}

// Expired mints a token that expired an hour ago (beyond any leeway).
func (i *Issuer) Expired(c token.Claims) string {
	i.tb.Helper()
	c = i.defaults(c)
	c.IssuedAt = token.At(time.Now().Add(-2 * time.Hour))
	c.ExpiresAt = token.At(time.Now().Add(-time.Hour))
	return i.sign(i.key, c)
}

// NotYetValid mints a token whose nbf is an hour from now.
func (i *Issuer) NotYetValid(c token.Claims) string {
	i.tb.Helper()
	c = i.defaults(c)
	c.NotBefore = token.At(time.Now().Add(time.Hour))
	c.ExpiresAt = token.At(time.Now().Add(2 * time.Hour))
	return i.sign(i.key, c)
}

// WrongAudience mints a token for another audience.
func (i *Issuer) WrongAudience(c token.Claims) string {
	i.tb.Helper()
	c = i.defaults(c)
	c.Audience = token.Audience{"some-other-service"}
	return i.sign(i.key, c)
}

// WrongIssuer mints a token, signed with the right key, that names another
// issuer.
func (i *Issuer) WrongIssuer(c token.Claims) string {
	i.tb.Helper()
	c = i.defaults(c)
	c.Issuer = "https://evil.example"
	raw, err := token.SignClaims(i.key, token.TypeAccessToken, withTimes(c))
	if err != nil {
		i.tb.Fatalf("tokentest: %v", err)
	}
	return raw
}

// BadSignature mints a token whose signature belongs to other claims: the
// header and payload are intact, the signature does not verify.
func (i *Issuer) BadSignature(c token.Claims) string {
	i.tb.Helper()
	good := i.Token(c)
	c.Subject = "someone-else"
	other := i.Token(c)
	return good[:strings.LastIndexByte(good, '.')] + other[strings.LastIndexByte(other, '.'):]
}

// UnknownKey mints a token signed by a key the issuer does not publish, with
// that key's own kid.
func (i *Issuer) UnknownKey(c token.Claims) string {
	i.tb.Helper()
	return i.sign(i.stranger, i.defaults(c))
}

// AlgNone mints an unsecured token: header alg "none" and an empty
// signature (RFC 7519 §6), which every verifier must refuse.
func (i *Issuer) AlgNone(c token.Claims) string {
	i.tb.Helper()
	c = i.defaults(c)
	c.Issuer = i.URL
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": token.TypeAccessToken, "kid": i.key.ID()})
	p, err := json.Marshal(withTimes(c))
	if err != nil {
		i.tb.Fatalf("tokentest: %v", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "."
}

func withTimes(c token.Claims) token.Claims {
	now := time.Now()
	if c.IssuedAt == 0 {
		c.IssuedAt = token.At(now)
	}
	if c.ExpiresAt == 0 {
		c.ExpiresAt = token.At(now.Add(token.DefaultAccessTokenTTL))
	}
	return c
}
