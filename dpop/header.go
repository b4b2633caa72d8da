package dpop

import (
	"net/http"
	"strings"
)

const (
	// HeaderName is the request header that carries a proof (RFC 9449 §4.1).
	HeaderName = "DPoP"
	// NonceHeader is the response header that carries a server nonce
	// (RFC 9449 §8).
	NonceHeader = "DPoP-Nonce"
	// Scheme is the Authorization scheme of a DPoP-bound access token
	// (RFC 9449 §7.1) and the token_type of a token response (§5).
	Scheme = "DPoP"
	// TokenTypeBound is the token_type of a DPoP-bound access token in a
	// token response (RFC 9449 §5).
	TokenTypeBound = Scheme
	// ErrorInvalidProof and ErrorUseNonce are the OAuth error codes
	// (RFC 9449 §12.2).
	ErrorInvalidProof = "invalid_dpop_proof"
	ErrorUseNonce     = "use_dpop_nonce"
)

// HeaderProof returns the request's one DPoP header, "" if it has none. Two
// DPoP header fields, or one holding a list, are refused with an error
// that wraps [ErrInvalidProof] (RFC 9449 §4.3 step 1).
func HeaderProof(h http.Header) (string, error) {
	vs := h.Values(HeaderName)
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", invalid("more than one DPoP header")
	case strings.ContainsRune(vs[0], ','):
		return "", invalid("a DPoP header with more than one value")
	}
	v := strings.TrimSpace(vs[0])
	if v == "" {
		return "", invalid("an empty DPoP header")
	}
	return v, nil
}

// AuthorizationToken returns the token of an Authorization header value
// with the DPoP scheme (compared case-insensitively, RFC 9110 §11.1), and
// false for any other scheme.
func AuthorizationToken(authorization string) (string, bool) {
	scheme, tok, ok := strings.Cut(authorization, " ")
	if !ok || !strings.EqualFold(scheme, Scheme) {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// Challenge returns a WWW-Authenticate value of the DPoP scheme (RFC 9449
// §7.1): the accepted algorithms and, if code is not "", the error and its
// description (a fixed text of the caller's: quotes and backslashes are
// dropped, it is never the proof or the token).
func Challenge(algs []string, code, description string) string {
	var b strings.Builder
	b.WriteString(Scheme)
	sep := " "
	if code != "" {
		b.WriteString(` error="` + quoteSafe(code) + `"`)
		sep = ", "
		if description != "" {
			b.WriteString(`, error_description="` + quoteSafe(description) + `"`)
		}
	}
	if len(algs) > 0 {
		b.WriteString(sep + `algs="` + quoteSafe(strings.Join(algs, " ")) + `"`)
	}
	return b.String()
}

func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
