// Package keys holds the signing keys of gatehouse: generation, JWK and PEM
// encoding, files, rotation, JWKS publication, and the sources a verifier
// takes its keys from.
//
// A [Key] has exactly one [Algorithm] (ES256 by default; EdDSA, RS256, PS256;
// HS256 for shared secrets of at least 32 bytes) and a kid, by default its
// RFC 7638 thumbprint:
//
//	k, err := keys.Generate(keys.ES256)
//	err = keys.Save("key.jwk", k) // private JWK, mode 0600
//	k, err = keys.LoadKey("key.jwk") // JWK, JWKS or PEM
//
// A [Set] rotates keys: one active key signs, replaced keys keep verifying
// until every token they signed has expired, and its JWKS holds public keys
// only.
//
// Verifiers find keys through a [Source]: [Static] for fixed keys, a [Set],
// or [Remote] for an issuer's JWKS URL, which caches within Cache-Control
// bounds, refetches on an unknown kid at most once per interval and keeps the
// last good keys while the issuer is down. An issuer that is down at start
// is no error for a service that may start without keys:
//
//	src, err := keys.NewRemoteFromIssuer(ctx, "https://auth.example")
//	if err != nil && !(src != nil && errors.Is(err, keys.ErrUnavailable)) {
//		return err // the issuer answered, wrongly
//	}
//	src.Prefetch(ctx) // retries with backoff until the keys arrive
//	ready := src.Ready // for a readiness probe; lookups fail with ErrUnavailable until then
package keys
