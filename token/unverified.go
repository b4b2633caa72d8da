package token

import (
	"encoding/json"
	"strings"
)

// ParseUnverified decodes the header and claims of a compact JWS WITHOUT
// verifying anything: not the signature, not a single claim. It exists for
// debugging tools (`gatehouse token decode`); never base a decision on its
// result. The parts must still be canonical base64url and JSON objects.
func ParseUnverified(raw string) (header, claims json.RawMessage, err error) {
	if len(raw) > 1<<20 {
		return nil, nil, fail(ErrTooLarge, "token is larger than 1 MiB")
	}
	raw = strings.TrimSpace(raw)
	parts := strings.Split(raw, ".")
	if len(parts) == 5 {
		return nil, nil, fail(ErrUnsupported, "JWE (encrypted) tokens cannot be decoded")
	}
	if len(parts) != 3 {
		return nil, nil, fail(ErrMalformed, "want three dot-separated parts, got %d", len(parts))
	}
	h, err := b64.DecodeString(parts[0])
	if err != nil || !isObject(h) {
		return nil, nil, fail(ErrMalformed, "header is not a base64url-encoded JSON object")
	}
	p, err := b64.DecodeString(parts[1])
	if err != nil || !isObject(p) {
		return nil, nil, fail(ErrMalformed, "payload is not a base64url-encoded JSON object")
	}
	return h, p, nil
}

func isObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil
}
