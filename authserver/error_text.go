package authserver

import "strings"

// maxDescription bounds an error_description: some quote what the
// request sent (a scope, a parameter name).
const maxDescription = 300

// wireText returns s as an error or error_description may carry it
// (RFC 6749 §5.2, §4.1.2.1; RFC 6750 §3): printable US-ASCII without '"'
// and '\' (%x20-21 / %x23-5B / %x5D-7E). A double quote becomes a single
// one, a backslash a slash, anything else outside the set (control
// characters, non-ASCII, which a request may have put there) '?'; the
// result is at most maxDescription bytes. Every OAuth error the server
// writes passes through it, whatever its source says.
func wireText(s string) string {
	if len(s) > maxDescription {
		s = s[:maxDescription-3] + "..."
	}
	ok := true
	for i := 0; i < len(s); i++ {
		if !descriptionChar(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteByte('\'')
		case r == '\\':
			b.WriteByte('/')
		case r < 0x80 && descriptionChar(byte(r)):
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// descriptionChar reports whether c is allowed in an error_description.
func descriptionChar(c byte) bool {
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'
}
