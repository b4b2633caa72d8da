// Package dpop verifies and produces DPoP proofs (RFC 9449): the JWTs a
// client signs with a key it holds, for one HTTP request, so that a token
// bound to that key (cnf.jkt) is useless to whoever copies it without the
// key.
//
// A server builds one [Verifier] and checks the proof of each request:
//
//	v, err := dpop.NewVerifier()                  // in-memory replay cache, 60s window
//	proof, err := dpop.HeaderProof(r.Header)       // at most one DPoP header
//	p, err := v.Verify(ctx, proof, dpop.Request{
//		Method: r.Method, URL: "https://api.example/orders",
//		AccessToken: tok, JKT: claims.Confirmation.JKT, // at a resource
//	})
//	// p.JKT is the key's thumbprint (RFC 7638): cnf.jkt of a token issued for it
//
// Verify is one straight list of checks (verify.go), cheap ones first: the
// size, the JOSE header (typ dpop+jwt, an allowed asymmetric algorithm, a
// public jwk, no crit), the signature with that jwk, then the claims (jti,
// htm, htu, iat within the window, ath, the key's thumbprint, the server
// nonce) and last the replay cache, so that only signed proofs reach it.
// Every refusal wraps [ErrInvalidProof] with a reason that never quotes the
// proof; a missing or stale nonce is a [*NonceError] (wrapping
// [ErrUseNonce]) that carries the nonce to send in the DPoP-Nonce header; a
// replay cache that cannot answer is [ErrReplayUnavailable] (refuse, with
// 503).
//
// The replay cache remembers the SHA-256 of each proof's key thumbprint
// and jti until the proof leaves the window. [NewMemoryReplay] is one
// process's; package dpop/redisreplay shares it between instances through
// Redis (this package links no Redis client, so guard can import it).
//
// [Nonces] are stateless server nonces (RFC 9449 §8, §9): an HMAC of the
// time step under a secret that every instance shares.
//
// A client sends the same protected header with every proof of its key: a
// Verifier remembers, for up to 10,000 header segments, what their checks
// made of them (the algorithm, the key, its thumbprint), so that the next
// proof of that key costs its signature check (with the standard library,
// through package keys) and its claims, not a JOSE parse
// (headercache.go). A header is remembered only once a proof with it
// verified, and a remembered one is refused and accepted exactly as a new
// one is.
//
// Clients sign proofs with a [Signer]: a fresh jti and iat on every call.
// Proofs are parsed with go-jose v4, never with the strict access-token
// parser of package token, which keeps refusing an embedded jwk.
package dpop
