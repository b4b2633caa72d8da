package guard

import (
	"net/http"
	"strings"
)

// bearer finds the token of r: in the Authorization header (RFC 6750 §2.1),
// else in the cookie of WithCookie. Never in the query string or a form
// body (RFC 6750 §2.2, §2.3): URLs end up in logs, histories and Referer
// headers, so a token there is ignored, as if absent.
func (g *Guard) bearer(r *http.Request) (string, *Refusal) {
	if raw, ok, ref := fromAuthorization(r.Header["Authorization"], "more than one Authorization header"); ok {
		return raw, ref
	}
	if g.cookie != "" {
		switch cs := r.CookiesNamed(g.cookie); len(cs) {
		case 0:
		case 1:
			if cs[0].Value != "" {
				return cs[0].Value, nil
			}
		default:
			return "", &Refusal{Reason: ReasonInvalidRequest, Detail: "more than one " + g.cookie + " cookie"}
		}
	}
	return "", &Refusal{Reason: ReasonNoToken, Detail: "a bearer token is required"}
}

// fromAuthorization reads the one Authorization value of vals. ok is false
// when there is none, or one of another scheme; two values are refused
// (400) with the detail many.
func fromAuthorization(vals []string, many string) (raw string, ok bool, ref *Refusal) {
	switch len(vals) {
	case 0:
		return "", false, nil
	case 1:
		return parseAuthorization(vals[0])
	default:
		return "", true, &Refusal{Reason: ReasonInvalidRequest, Detail: many}
	}
}

// parseAuthorization reads "Bearer <token>" (RFC 6750 §2.1; the scheme is
// case-insensitive, RFC 9110 §11.1). ok is false for another scheme, which
// counts as no token (RFC 6750 §3.1: no error code for an unsupported
// method). The token's own syntax (strict base64url JWS, which excludes
// spaces and commas) is the verifier's to check.
func parseAuthorization(v string) (raw string, ok bool, ref *Refusal) {
	scheme, rest, _ := strings.Cut(v, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false, nil
	}
	raw = strings.TrimLeft(rest, " ")
	if raw == "" {
		return "", true, &Refusal{Reason: ReasonInvalidToken, Detail: "the Authorization header holds no bearer token"}
	}
	return raw, true, nil
}
