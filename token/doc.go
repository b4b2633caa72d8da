// Package token issues and verifies gatehouse tokens: signed JWTs (RFC 7519)
// in compact JWS form (RFC 7515), access tokens per RFC 9068 (typ at+jwt),
// OpenID Connect ID tokens and the short-lived service tokens one service
// sends another.
//
// An [Issuer] signs with the active key of a key set from package keys:
//
//	key, _ := keys.Generate(keys.ES256)
//	iss, _ := token.NewIssuer("https://auth.example", key)
//	raw, _ := iss.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{"orders"}})
//
// A [Verifier] is built once per (issuer, audience) and shared by every
// request. It takes keys only from the source it was given — never from the
// token — and checks, cheapest first: size, strict compact form, header,
// key by kid, algorithm, signature, typ, iss, aud, exp/nbf/iat with leeway,
// required claims and a revocation hook:
//
//	v, _ := token.NewVerifier(src, "https://auth.example", "orders")
//	claims, err := v.Verify(ctx, raw)
//	if errors.Is(err, token.ErrExpired) { ... }
//
// Verified tokens are cached by the SHA-256 of the raw token until they
// expire or their key leaves the source, so a token seen before costs a map
// lookup and the expiry and revocation checks.
//
// The signature primitives are the standard library's (crypto/ecdsa,
// crypto/ed25519, crypto/rsa, crypto/hmac), called through package keys,
// for signing and verifying alike: no JOSE library is linked.
package token
