package dpop

import (
	"net/url"
	"strings"
)

// SameURL reports whether the htu of a proof names target: both are
// absolute http or https URIs, equal after RFC 3986 §6.2.2 syntax-based
// normalization (case of the scheme and host and of percent-encodings,
// unreserved characters decoded, dot segments removed) and §6.2.3
// scheme-based normalization (default port, empty path as "/"), query and
// fragment ignored (RFC 9449 §4.3 step 9).
func SameURL(htu, target string) bool {
	a, ok := NormalizeURL(htu)
	if !ok {
		return false
	}
	b, ok := NormalizeURL(target)
	return ok && a == b
}

// NormalizeURL returns the form of an absolute http or https URI that
// [SameURL] compares, without query and fragment, and false if it is not
// one.
func NormalizeURL(raw string) (string, bool) {
	if raw == "" || len(raw) > MaxProofBytes {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", false
	}
	port := u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	p, ok := normalizeEscapes(u.EscapedPath())
	if !ok {
		return "", false
	}
	p = removeDotSegments(p)
	if p == "" {
		p = "/"
	}
	var user string
	if u.User != nil {
		user = u.User.String() + "@"
	}
	return scheme + "://" + user + host + p, true
}

// normalizeEscapes decodes percent-encoded unreserved characters and
// writes the others in upper case (RFC 3986 §6.2.2.1, §6.2.2.2).
func normalizeEscapes(p string) (string, bool) {
	if !strings.Contains(p, "%") {
		return p, true
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' {
			b.WriteByte(p[i])
			continue
		}
		if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			return "", false
		}
		c := unhex(p[i+1])<<4 | unhex(p[i+2])
		if isUnreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteString(strings.ToUpper(p[i+1 : i+3]))
		}
		i += 2
	}
	return b.String(), true
}

// removeDotSegments is RFC 3986 §5.2.4 for an absolute path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
