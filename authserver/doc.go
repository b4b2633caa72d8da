// Package authserver is the OAuth 2.0 / OpenID Connect authorization
// server of gatehouse: it authenticates users and clients against an
// identity.Store and issues signed JWT access tokens (RFC 9068), ID tokens
// and rotating refresh tokens.
//
// Grants: client_credentials, authorization_code with PKCE (S256; required
// for public clients), refresh_token with rotation and reuse detection,
// password (legacy; only for clients that list it), and token exchange
// (RFC 8693) with act, also from a legacy system's opaque sessions.
// Endpoints: discovery (OpenID Connect and RFC 8414), JWKS, authorize,
// token, introspection (RFC 7662), revocation (RFC 7009), userinfo and a
// server-rendered login page.
//
// Clients authenticate with client_secret_basic or client_secret_post
// (secrets stored as argon2id hashes, compared in constant time), or with
// private_key_jwt (RFC 7523): a JWT signed by the client's private key
// (ES256, EdDSA, RS256 or PS256), checked against the public keys stored
// with the client (identity.Client.JWKS; jwks_file in gatehouse.yaml). Its
// iss and sub are the client id, its aud the issuer or the endpoint's URL,
// it expires within [MaxAssertionLifetime] and its jti is used once (per
// instance: the replay cache is in memory).
//
//	srv, err := authserver.New(ctx, authserver.Config{Issuer: "https://auth.example", Store: store})
//	http.ListenAndServe(":9000", srv.Handler())
//
// Standard clients work unchanged: golang.org/x/oauth2, coreos/go-oidc,
// Spring Security's issuer-uri, curl.
//
// Signing keys live in the store, so several instances agree; each instance
// reloads them (and the revocation list) every KeyReload. [RotateKey] makes
// a new key active while the old one keeps verifying until its tokens have
// expired.
package authserver
