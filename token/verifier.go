package token

import (
	"context"
	"encoding/json"
	"errors"
	jsonv2 "github.com/go-json-experiment/json"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// Revoker is the revocation hook of a [Verifier]: it reports whether a token
// whose signature and claims are valid has been revoked. An error means the
// answer is unknown; the verifier then refuses with [ErrUnavailable].
type Revoker interface {
	Revoked(ctx context.Context, c *Claims) (bool, error)
}

// Verify checks raw and returns its claims. The checks run in this order,
// cheapest first, and the first failure is returned:
//
//  1. size limit (ErrTooLarge)
//  2. strict compact form: three base64url parts, canonical, no padding or
//     whitespace; a header that is one JSON object with unique members and
//     none of crit, b64, jku, x5u, x5c, jwk, enc, zip or cty JWT
//     (ErrMalformed, ErrUnsupported)
//  3. the key, chosen only from the configured source by kid (ErrUnknownKey)
//  4. alg naming the key's algorithm (keys.Algorithm.Matches: EdDSA keys
//     also accept Ed25519, RFC 9864) and on the allow-list (ErrAlgorithm)
//  5. signature (ErrSignature)
//  6. typ, where required (ErrType)
//  7. claims: one JSON object, each claim of its JSON type (ErrMalformed)
//  8. iss exactly equal (ErrIssuer); aud contains the audience (ErrAudience)
//  9. exp required and not passed, nbf and iat not in the future, each with
//     the leeway (ErrExpired, ErrNotYetValid, ErrMissingClaim)
//  10. required claims (ErrMissingClaim)
//  11. the revocation hook (ErrRevoked, ErrUnavailable)
//
// A token found in the verified-token cache skips steps 2 to 10 but is still
// checked for expiry, for its key still being in the source, and against the
// revocation hook.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	c, _, err := v.VerifyHit(ctx, raw)
	return c, err
}

// VerifyHit is [Verifier.Verify] that also reports whether the answer came
// from the verified-token cache (for traces and metrics: package guard
// records it on its verification span).
func (v *Verifier) VerifyHit(ctx context.Context, raw string) (_ *Claims, cached bool, _ error) {
	if len(raw) > v.maxSize {
		return nil, false, fail(ErrTooLarge, "token is %d bytes, the limit is %d", len(raw), v.maxSize)
	}
	now := v.now()
	var slot cacheKey
	if v.cache != nil {
		slot = v.cache.key(raw)
		if c, ok, err := v.cached(ctx, slot, now); ok || err != nil {
			return c, ok, err
		}
	}
	c, err := v.verify(ctx, raw, slot, now)
	return c, false, err
}

// verify runs the checks of a token the cache did not answer.
func (v *Verifier) verify(ctx context.Context, raw string, slot cacheKey, now time.Time) (*Claims, error) {
	t, err := parseCompact(raw)
	if err != nil {
		return nil, err
	}
	key, err := v.src.Key(ctx, t.header.Kid)
	switch {
	case errors.Is(err, keys.ErrKeyNotFound):
		return nil, fail(ErrUnknownKey, "no configured key has the token's kid")
	case err != nil:
		return nil, &Error{Kind: ErrUnavailable, Reason: "signing keys unavailable", cause: err}
	}
	if !key.Algorithm().Matches(t.header.Alg) || !v.algs[key.Algorithm()] {
		return nil, fail(ErrAlgorithm, "alg does not match an allowed key algorithm")
	}
	if key.Verify(t.signingInput, t.signature) != nil {
		return nil, fail(ErrSignature, "signature does not verify")
	}
	if v.types != nil && !v.typeAllowed(t.header.Typ) {
		return nil, fail(ErrType, "typ is not %s", strings.Join(v.types, " or "))
	}
	c, err := v.decodeClaims(t.payload)
	if err != nil {
		return nil, err
	}
	if err := v.validate(c, now); err != nil {
		return nil, err
	}
	if err := v.checkRevoked(ctx, c); err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(slot, &cacheEntry{claims: c, kid: t.header.Kid, thumb: key.Thumbprint()})
	}
	return c, nil
}

func (v *Verifier) decodeClaims(payload []byte) (*Claims, error) {
	c := new(Claims)
	if err := jsonv2.Unmarshal(payload, (*claimsAlias)(c)); err != nil {
		var se *jsonv2.SemanticError
		if errors.As(err, &se) && se.JSONPointer != "" {
			return nil, fail(ErrMalformed, "claim %s has the wrong JSON type", se.JSONPointer)
		}
		return nil, fail(ErrMalformed, "claims are not one JSON object with unique members of the right types")
	}
	c.raw = payload
	return c, nil
}

func (v *Verifier) validate(c *Claims, now time.Time) error {
	if c.Issuer != v.issuer {
		return fail(ErrIssuer, "iss is not the expected issuer")
	}
	if !v.anyAudience && !c.Audience.Contains(v.audience) {
		return fail(ErrAudience, "aud does not contain %q", v.audience)
	}
	if c.ExpiresAt == 0 {
		return fail(ErrMissingClaim, "exp is required")
	}
	if now.After(c.ExpiresAt.Time().Add(v.leeway)) {
		return fail(ErrExpired, "expired at %s", c.ExpiresAt.Time().UTC().Format(time.RFC3339))
	}
	if c.NotBefore != 0 && now.Add(v.leeway).Before(c.NotBefore.Time()) {
		return fail(ErrNotYetValid, "not valid before %s", c.NotBefore.Time().UTC().Format(time.RFC3339))
	}
	if c.IssuedAt != 0 && now.Add(v.leeway).Before(c.IssuedAt.Time()) {
		return fail(ErrNotYetValid, "issued in the future")
	}
	for _, name := range v.required {
		if !hasClaim(c, name) {
			return fail(ErrMissingClaim, "%s is required", name)
		}
	}
	return nil
}

func (v *Verifier) checkRevoked(ctx context.Context, c *Claims) error {
	if v.revoker == nil {
		return nil
	}
	revoked, err := v.revoker.Revoked(ctx, c)
	switch {
	case err != nil:
		return &Error{Kind: ErrUnavailable, Reason: "revocation list unavailable", cause: err}
	case revoked:
		return fail(ErrRevoked, "token has been revoked")
	}
	return nil
}

// cached answers from the verified-token cache. ok is false on a miss, and
// when the entry no longer holds (its key left the source): then the full
// verification runs and reports why.
func (v *Verifier) cached(ctx context.Context, slot cacheKey, now time.Time) (c *Claims, ok bool, err error) {
	e := v.cache.get(slot)
	if e == nil {
		return nil, false, nil
	}
	if now.After(e.claims.ExpiresAt.Time().Add(v.leeway)) {
		v.cache.drop(slot)
		return nil, true, fail(ErrExpired, "expired at %s", e.claims.ExpiresAt.Time().UTC().Format(time.RFC3339))
	}
	key, err := v.src.Key(ctx, e.kid)
	if err != nil || key.Thumbprint() != e.thumb {
		v.cache.drop(slot)
		return nil, false, nil
	}
	if err := v.checkRevoked(ctx, e.claims); err != nil {
		if errors.Is(err, ErrRevoked) {
			v.cache.drop(slot)
		}
		return nil, true, err
	}
	return e.claims, true, nil
}

func (v *Verifier) typeAllowed(typ string) bool {
	// RFC 7515 §4.1.9: media types compare case-insensitively and the
	// "application/" prefix may be omitted.
	typ = strings.ToLower(typ)
	typ = strings.TrimPrefix(typ, "application/")
	for _, t := range v.types {
		if typ == t {
			return true
		}
	}
	return false
}

func hasClaim(c *Claims, name string) bool {
	switch name {
	case "iss":
		return c.Issuer != ""
	case "sub":
		return c.Subject != ""
	case "aud":
		return len(c.Audience) > 0
	case "exp":
		return c.ExpiresAt != 0
	case "nbf":
		return c.NotBefore != 0
	case "iat":
		return c.IssuedAt != 0
	case "jti":
		return c.ID != ""
	case "client_id":
		return c.ClientID != ""
	case "scope":
		return c.Scope != "" || len(c.ScopeList) > 0
	case "email":
		return c.Email != ""
	case "name":
		return c.Name != ""
	case "roles":
		return c.Roles != nil
	case "groups":
		return c.Groups != nil
	case "org":
		return c.Org != ""
	case "act":
		return c.Actor != nil
	}
	var v json.RawMessage
	found, err := c.Custom(name, &v)
	return found && err == nil && string(v) != "null"
}
