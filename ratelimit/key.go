package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Key builds a limiter key from what the caller partitions by: a kind such
// as "ip", "client_id", "sub", "claim:org" or "header:X-Api-Key", and the
// request's value for it:
//
//	ratelimit.Key("ip", "2001:db8::1")     // "ip:2001%3Adb8%3A%3A1"
//	ratelimit.Key("claim:org", "acme")     // "claim%3Aorg:acme"
//
// Both parts are percent-encoded ('%', ':', space, control and non-ASCII
// bytes) and joined by the one ':' left, so distinct (kind, value) pairs
// always give distinct keys: Key("claim", "org:acme") is not
// Key("claim:org", "acme"), and an "ip" value can never pass for another
// kind. The result is printable ASCII, safe in logs and Redis keys. Kind is
// compared byte for byte: canonicalize header names before.
func Key(kind, value string) string {
	ek, ev := escapedLen(kind), escapedLen(value)
	if ek == len(kind) && ev == len(value) {
		return kind + ":" + value
	}
	var b strings.Builder
	b.Grow(ek + 1 + ev)
	writeEscaped(&b, kind)
	b.WriteByte(':')
	writeEscaped(&b, value)
	return b.String()
}

func mustEscape(c byte) bool {
	return c <= ' ' || c >= 0x7f || c == '%' || c == ':'
}

func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if mustEscape(s[i]) {
			n += 2
		}
	}
	return n
}

func writeEscaped(b *strings.Builder, s string) {
	const hexdigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if mustEscape(c) {
			b.WriteByte('%')
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
		} else {
			b.WriteByte(c)
		}
	}
}

// maxStoredKey is the longest key a limiter stores as it is. Longer keys
// (a header value chosen by the client, say) are stored as '#' and the hex
// SHA-256 of the key: 65 bytes, longer than any key stored as it is, so a
// short key can never be made to collide with a hashed one.
const maxStoredKey = 64

// storedKey bounds the memory a key costs in a limiter's store.
func storedKey(key string) string {
	if len(key) <= maxStoredKey {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "#" + hex.EncodeToString(sum[:])
}
