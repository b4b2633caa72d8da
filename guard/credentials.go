package guard

import (
	"net/http"
	"strings"
)

// scheme is how a request presented its token.
type scheme uint8

const (
	// schemeBearer: "Authorization: Bearer" (RFC 6750 §2.1) or the cookie.
	schemeBearer scheme = iota
	// schemeDPoP: "Authorization: DPoP" (RFC 9449 §7.1), with a proof in
	// the DPoP header.
	schemeDPoP
)

// bearer finds the token of r: in the Authorization header (RFC 6750 §2.1;
// with scheme DPoP, RFC 9449 §7.1, only when the guard takes DPoP proofs,
// WithDPoP), else in the cookie of WithCookie. Never in the query string or
// a form body (RFC 6750 §2.2, §2.3): URLs end up in logs, histories and
// Referer headers, so a token there is ignored, as if absent.
func (g *Guard) bearer(r *http.Request) (string, scheme, *Refusal) {
	if raw, s, ok, ref := fromAuthorization(r.Header["Authorization"], "more than one Authorization header"); ok && (s == schemeBearer || g.dpop != nil) {
		return raw, s, ref
	}
	if g.cookie != "" {
		switch cs := r.CookiesNamed(g.cookie); len(cs) {
		case 0:
		case 1:
			if cs[0].Value != "" {
				return cs[0].Value, schemeBearer, nil
			}
		default:
			return "", schemeBearer, &Refusal{Reason: ReasonInvalidRequest, Detail: "more than one " + g.cookie + " cookie"}
		}
	}
	return "", schemeBearer, &Refusal{Reason: ReasonNoToken, Detail: "a bearer token is required"}
}

// fromAuthorization reads the one Authorization value of vals. ok is false
// when there is none, or one of another scheme than Bearer and DPoP; two
// values are refused (400) with the detail many.
func fromAuthorization(vals []string, many string) (raw string, s scheme, ok bool, ref *Refusal) {
	switch len(vals) {
	case 0:
		return "", schemeBearer, false, nil
	case 1:
		return parseAuthorization(vals[0])
	default:
		return "", schemeBearer, true, &Refusal{Reason: ReasonInvalidRequest, Detail: many}
	}
}

// parseAuthorization reads "Bearer <token>" (RFC 6750 §2.1) or "DPoP
// <token>" (RFC 9449 §7.1; schemes are case-insensitive, RFC 9110 §11.1).
// ok is false for another scheme, which counts as no token (RFC 6750 §3.1:
// no error code for an unsupported method). The token's own syntax (strict
// base64url JWS, which excludes spaces and commas) is the verifier's to
// check.
func parseAuthorization(v string) (raw string, s scheme, ok bool, ref *Refusal) {
	name, rest, _ := strings.Cut(v, " ")
	switch {
	case strings.EqualFold(name, "Bearer"):
		s = schemeBearer
	case strings.EqualFold(name, "DPoP"):
		s = schemeDPoP
	default:
		return "", schemeBearer, false, nil
	}
	raw = strings.TrimLeft(rest, " ")
	if raw == "" {
		detail := "the Authorization header holds no bearer token"
		if s == schemeDPoP {
			detail = "the Authorization header holds no DPoP token"
		}
		return "", s, true, &Refusal{Reason: ReasonInvalidToken, Detail: detail, dpop: s == schemeDPoP}
	}
	return raw, s, true, nil
}
