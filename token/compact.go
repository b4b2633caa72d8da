package token

import (
	"encoding/base64"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// header is the JOSE header of a JWS (RFC 7515 §4.1). Members that would let
// the token choose its own key or change how it is processed are decoded only
// to be refused.
type header struct {
	Alg  string         `json:"alg"`
	Kid  string         `json:"kid"`
	Typ  string         `json:"typ"`
	Cty  string         `json:"cty"`
	Crit jsontext.Value `json:"crit"`
	B64  jsontext.Value `json:"b64"`
	Jku  jsontext.Value `json:"jku"`
	X5u  jsontext.Value `json:"x5u"`
	X5c  jsontext.Value `json:"x5c"`
	JWK  jsontext.Value `json:"jwk"`
	Enc  jsontext.Value `json:"enc"`
	Zip  jsontext.Value `json:"zip"`
}

// compact is a token split into its parts, decoded but not verified.
type compact struct {
	header       header
	payload      []byte
	signature    []byte
	signingInput []byte // BASE64URL(header) "." BASE64URL(payload)
}

var b64 = base64.RawURLEncoding.Strict()

// base64url marks the bytes allowed in a compact JWS part (RFC 7515 §2: no
// padding, no whitespace, nothing else).
var base64url = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = true
	}
	return t
}()

// parseCompact splits and decodes a compact JWS strictly: three non-empty
// base64url parts, canonical encoding, a header that is one JSON object with
// unique members, and no header member the verifier will not act on.
func parseCompact(raw string) (*compact, error) {
	dots := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '.' {
			dots++
			continue
		}
		if !base64url[c] {
			return nil, fail(ErrMalformed, "character at offset %d is not base64url", i)
		}
	}
	if dots == 4 {
		return nil, fail(ErrUnsupported, "JWE (encrypted) tokens are not accepted")
	}
	if dots != 2 {
		return nil, fail(ErrMalformed, "want three dot-separated parts, got %d", dots+1)
	}
	i := strings.IndexByte(raw, '.')
	j := i + 1 + strings.IndexByte(raw[i+1:], '.')
	rb := []byte(raw)
	h, p, s := rb[:i], rb[i+1:j], rb[j+1:]
	if len(h) == 0 || len(p) == 0 {
		return nil, fail(ErrMalformed, "empty header or payload")
	}
	buf := make([]byte, b64.DecodedLen(len(h))+b64.DecodedLen(len(p))+b64.DecodedLen(len(s)))
	hb, err := decodePart(buf, h)
	if err != nil {
		return nil, fail(ErrMalformed, "header is not canonical base64url")
	}
	buf = buf[len(hb):]
	pb, err := decodePart(buf, p)
	if err != nil {
		return nil, fail(ErrMalformed, "payload is not canonical base64url")
	}
	buf = buf[len(pb):]
	sb, err := decodePart(buf, s)
	if err != nil {
		return nil, fail(ErrMalformed, "signature is not canonical base64url")
	}
	t := &compact{payload: pb, signature: sb, signingInput: rb[:j]}
	if err := jsonv2.Unmarshal(hb, &t.header); err != nil {
		return nil, fail(ErrMalformed, "header is not one JSON object with unique members of the right types")
	}
	if err := t.header.check(); err != nil {
		return nil, err
	}
	return t, nil
}

func decodePart(dst, s []byte) ([]byte, error) {
	n, err := b64.Decode(dst, s)
	return dst[:n:n], err
}

// check refuses header members that would make the token choose its key
// source, change the processing rules, or wrap another token.
func (h *header) check() error {
	switch {
	case h.Alg == "":
		return fail(ErrMalformed, "header has no alg")
	case strings.EqualFold(h.Alg, "none"):
		return fail(ErrAlgorithm, "alg none is never accepted")
	case h.Crit != nil:
		return fail(ErrUnsupported, "crit header: no critical extension is understood")
	case h.B64 != nil:
		return fail(ErrUnsupported, "b64 header (RFC 7797) is not accepted")
	case h.Jku != nil, h.X5u != nil, h.X5c != nil, h.JWK != nil:
		return fail(ErrUnsupported, "jku, x5u, x5c and jwk headers are never used as key sources")
	case h.Enc != nil, h.Zip != nil:
		return fail(ErrUnsupported, "JWE (encrypted) tokens are not accepted")
	case strings.EqualFold(h.Cty, "JWT"):
		return fail(ErrUnsupported, "nested JWTs are not accepted")
	}
	return nil
}
