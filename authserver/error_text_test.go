package authserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// inRFC6749Set reports whether s has only the characters RFC 6749 §5.2
// allows in error and error_description: %x20-21 / %x23-5B / %x5D-7E.
func inRFC6749Set(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func TestWireText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text stays", "plain text stays"},
		{`scope "admin" is not allowed`, "scope 'admin' is not allowed"},
		{`a\b`, "a/b"},
		{"tab\tnewline\nnul\x00", "tab?newline?nul?"},
		{"caf\u00e9 \u2603", "caf? ?"},
		{"\xff\xfe broken UTF-8", "?? broken UTF-8"},
		{"", ""},
	} {
		if got := wireText(tc.in); got != tc.want {
			t.Errorf("wireText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := wireText(strings.Repeat(`"`, 10*maxDescription)); len(got) > maxDescription || !inRFC6749Set(got) {
		t.Errorf("a long description: %d bytes, in the set: %v", len(got), inRFC6749Set(got))
	}
}

// FuzzWireText: whatever a description holds, the writer keeps it in the
// set and within its bound.
func FuzzWireText(f *testing.F) {
	for _, s := range []string{"", `"`, `\`, "é", "\x00", "scope \"x\"", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := wireText(s)
		if !inRFC6749Set(got) || len(got) > maxDescription || !utf8.ValidString(got) {
			t.Fatalf("wireText(%q) = %q", s, got)
		}
		if inRFC6749Set(s) && len(s) <= maxDescription && got != s {
			t.Fatalf("wireText changed %q, which was in the set, to %q", s, got)
		}
	})
}

// TestWriteOAuthErrorSanitises: the one writer of RFC 6749 error JSON
// keeps code and description in the set, whatever its caller put there.
func TestWriteOAuthErrorSanitises(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/oauth2/token", nil)
	writeOAuthError(w, r, badRequest(errInvalidScope, "scope \"adm\\in\u00e9\x01\" is not allowed"))
	var body map[string]string
	if err := json.NewDecoder(w.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if !inRFC6749Set(body["error"]) || !inRFC6749Set(body["error_description"]) {
		t.Fatalf("written %q", body)
	}
	if body["error_description"] != "scope 'adm/in??' is not allowed" {
		t.Fatalf("error_description %q", body["error_description"])
	}
}
