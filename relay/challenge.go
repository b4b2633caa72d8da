package relay

import (
	"net/http"
	"strings"
)

// dpopChallenge reports whether h has a WWW-Authenticate challenge of the
// DPoP scheme whose error parameter is code (RFC 9449 §7.1, §9).
func dpopChallenge(h http.Header, code string) bool {
	for _, v := range h.Values("Www-Authenticate") {
		if e, ok := challengeParam(v, "DPoP", "error"); ok && e == code {
			return true
		}
	}
	return false
}

// maxChallenge bounds the WWW-Authenticate value that is read.
const maxChallenge = 4096

// challengeParam returns the auth-param name of the first challenge of
// scheme in a WWW-Authenticate value (RFC 9110 §11.2: challenges
// separated by commas, each a scheme then token or quoted-string
// parameters). It reads the server's answer, untrusted: anything it does
// not understand ends the search with false.
func challengeParam(v, scheme, name string) (string, bool) {
	if len(v) > maxChallenge {
		return "", false
	}
	l := lexer{s: v}
	cur := ""
	for {
		l.skip(" \t,")
		if l.i >= len(l.s) {
			return "", false
		}
		tok := l.token()
		if tok == "" {
			return "", false
		}
		l.skip(" \t")
		if !l.next('=') {
			cur = tok // the scheme of a new challenge
			continue
		}
		l.skip(" \t")
		var val string
		if l.i < len(l.s) && l.s[l.i] == '"' {
			var ok bool
			if val, ok = l.quoted(); !ok {
				return "", false
			}
		} else if val = l.token(); val == "" {
			return "", false // token68, or malformed: not a parameter list
		}
		if strings.EqualFold(cur, scheme) && strings.EqualFold(tok, name) {
			return val, true
		}
	}
}

type lexer struct {
	s string
	i int
}

func (l *lexer) skip(set string) {
	for l.i < len(l.s) && strings.IndexByte(set, l.s[l.i]) >= 0 {
		l.i++
	}
}

func (l *lexer) next(c byte) bool {
	if l.i < len(l.s) && l.s[l.i] == c {
		l.i++
		return true
	}
	return false
}

// token reads a token (RFC 9110 §5.6.2: tchar).
func (l *lexer) token() string {
	start := l.i
	for l.i < len(l.s) && isTchar(l.s[l.i]) {
		l.i++
	}
	return l.s[start:l.i]
}

// quoted reads a quoted-string, unescaping quoted-pairs.
func (l *lexer) quoted() (string, bool) {
	l.i++ // the opening quote
	var b strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		l.i++
		switch c {
		case '"':
			return b.String(), true
		case '\\':
			if l.i >= len(l.s) {
				return "", false
			}
			c = l.s[l.i]
			l.i++
		}
		b.WriteByte(c)
	}
	return "", false
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
