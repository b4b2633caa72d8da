package ratelimit

import (
	"fmt"
	"strings"
	"testing"
)

func TestKey(t *testing.T) {
	tests := []struct{ kind, value, want string }{
		{"ip", "192.0.2.1", "ip:192.0.2.1"},
		{"ip", "2001:db8::1", "ip:2001%3Adb8%3A%3A1"},
		{"client_id", "web-app", "client_id:web-app"},
		{"claim:org", "acme", "claim%3Aorg:acme"},
		{"claim", "org:acme", "claim:org%3Aacme"},
		{"header:X-Api-Key", "k 1", "header%3AX-Api-Key:k%201"},
		{"sub", "100%", "sub:100%25"},
		{"sub", "é\n", "sub:%C3%A9%0A"},
		{"", "", ":"},
	}
	for _, tt := range tests {
		if got := Key(tt.kind, tt.value); got != tt.want {
			t.Errorf("Key(%q, %q) = %q, want %q", tt.kind, tt.value, got, tt.want)
		}
	}
}

func TestKeyNoCollisionAcrossKinds(t *testing.T) {
	// Every way of splitting "a:b:c" between kind and value gives its own key.
	seen := map[string]string{}
	s := "claim:org:acme"
	for i := 0; i <= len(s); i++ {
		kind, value := s[:i], s[i:]
		k := Key(kind, value)
		if prev, dup := seen[k]; dup {
			t.Fatalf("Key(%q, %q) = Key of %s = %q", kind, value, prev, k)
		}
		seen[k] = fmt.Sprintf("(%q, %q)", kind, value)
	}
}

// parseKey inverts Key, to show it loses nothing.
func parseKey(k string) (kind, value string, err error) {
	i := strings.IndexByte(k, ':')
	if i < 0 || strings.IndexByte(k[i+1:], ':') >= 0 {
		return "", "", fmt.Errorf("want exactly one ':' in %q", k)
	}
	if kind, err = unescape(k[:i]); err != nil {
		return "", "", err
	}
	if value, err = unescape(k[i+1:]); err != nil {
		return "", "", err
	}
	return kind, value, nil
}

func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if mustEscape(c) {
				return "", fmt.Errorf("unescaped %q", c)
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("short escape")
		}
		var v byte
		if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &v); err != nil {
			return "", err
		}
		if !mustEscape(v) {
			return "", fmt.Errorf("%%%02X need not be escaped", v)
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), nil
}
