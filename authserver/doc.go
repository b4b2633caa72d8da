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
// Clients authenticate with client_secret_basic (form-encoded as RFC 6749
// §2.3.1 says, or as sent, as many clients do) or client_secret_post
// (secrets stored as argon2id hashes, compared in constant time), or with
// private_key_jwt (RFC 7523): a JWT signed by the client's private key
// (ES256, EdDSA — also named Ed25519, RFC 9864 — RS256 or PS256), checked against the public keys stored
// with the client (identity.Client.JWKS; jwks_file in gatehouse.yaml). Its
// iss and sub are the client id, its aud the issuer identifier alone (not
// the token endpoint's URL, not an array with other values:
// draft-ietf-oauth-rfc7523bis), it expires within [MaxAssertionLifetime] and its jti is used once (per
// instance: the replay cache is in memory).
//
//	srv, err := authserver.New(ctx, authserver.Config{Issuer: "https://auth.example", Store: store})
//	http.ListenAndServe(":9000", srv.Handler())
//
// Standard clients work unchanged: golang.org/x/oauth2, coreos/go-oidc,
// Spring Security's issuer-uri, curl, and the strict ones written by
// others that the e2e tests run against it (openid-client and jose for
// Node.js; oidc-client-ts in a real Chromium).
//
// # Browser clients
//
// A single-page app on its own origin logs in with the code flow and PKCE
// and then calls the endpoints with fetch, which browsers only allow with
// CORS (cors.go): discovery, JWKS, token, userinfo, revocation and logout
// answer the origins of each client's registered redirect URIs and its
// identity.Client.AllowedOrigins, and no other origin; the token and
// revocation endpoints only those of the client that authenticated.
//
// The login page keeps a strict Content-Security-Policy (no script, its
// style by hash, no framing) whose form-action allows this server and the
// origin of the redirect URI the request was validated against: browsers
// apply form-action to the redirect that answers the form's POST (pages.go).
//
// The auth server keeps no browser session: a login session is one login's
// refresh token family, named by the sid claim of its ID and access tokens.
// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0; the
// end_session_endpoint, /oauth2/logout) takes id_token_hint, client_id,
// post_logout_redirect_uri (one of the client's PostLogoutRedirectURIs,
// matched exactly) and state, revokes the family and puts the sid on the
// deny list ([Server.EndSession]), which Config.Revocations pushes to the
// gateway and every guard.
//
// A grant ends as a whole: a reused refresh token (RFC 9700 §4.14.2), a
// refresh token revoked at /oauth2/revoke (RFC 7009 §2.1) and a code used
// twice revoke the family and, by a deny-list entry for its sid, every
// access token issued under it (grant_revoke.go).
//
// # Guessing and flooding
//
// Passwords and client secrets are checked under brute-force throttles
// (Config.Throttle per account and IP, Config.ClientThrottle per client id
// and IP) that reserve an attempt before the argon2id check, so that
// guesses sent at once count as they start; the argon2id work in flight
// is bounded (Config.Argon2Concurrency, Argon2Queue; 503 past it), and a
// client secret verified before costs an HMAC, no argon2id (see
// login_check.go, client_secret_check.go, hashgate.go); the client of such
// a secret is read from the store at most once a second, and a revocation
// of its tokens forgets it at once (clientcache.go). Introspection
// answers only the client a token was issued to, a client its aud names,
// or one with identity.Client.Introspection (introspection_access.go).
// Every error_description keeps to the characters of RFC 6749 §5.2
// (error_text.go).
//
// Signing keys live in the store, so several instances agree; each instance
// reloads them (and the revocation list) every KeyReload. [RotateKey] makes
// a new key active while the old one keeps verifying until its tokens have
// expired.
package authserver
