package dpop_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/dpop"
)

func TestSameURL(t *testing.T) {
	for _, tc := range []struct {
		htu, target string
		want        bool
	}{
		{"https://as.example/oauth2/token", "https://as.example/oauth2/token", true},
		{"HTTPS://AS.Example:443/oauth2/token", "https://as.example/oauth2/token", true},
		{"http://as.example:80", "http://as.example/", true},
		{"https://as.example/oauth2/token?x=1#f", "https://as.example/oauth2/token", true},
		{"https://as.example/a/../oauth2/./token", "https://as.example/oauth2/token", true},
		{"https://as.example/%7Euser/%2f", "https://as.example/~user/%2F", true},
		{"https://[::1]:8443/t", "https://[::1]:8443/t", true},
		{"https://as.example/oauth2/token/", "https://as.example/oauth2/token", false},
		{"https://as.example:8443/oauth2/token", "https://as.example/oauth2/token", false},
		{"http://as.example/oauth2/token", "https://as.example/oauth2/token", false},
		{"https://as.example/oauth2/TOKEN", "https://as.example/oauth2/token", false},
		{"https://as.example/a%2Fb", "https://as.example/a/b", false},
		{"https://evil@as.example/oauth2/token", "https://as.example/oauth2/token", false},
		{"/oauth2/token", "/oauth2/token", false},
		{"ftp://as.example/x", "ftp://as.example/x", false},
		{"https://as.example/%zz", "https://as.example/%zz", false},
		{"", "", false},
		{"mailto:a@b", "mailto:a@b", false},
	} {
		if got := dpop.SameURL(tc.htu, tc.target); got != tc.want {
			t.Errorf("SameURL(%q, %q) = %v, want %v", tc.htu, tc.target, got, tc.want)
		}
	}
}

func TestHeaderProof(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  []string
		want    string
		refused bool
	}{
		{"none", nil, "", false},
		{"one", []string{"a.b.c"}, "a.b.c", false},
		{"two headers", []string{"a.b.c", "d.e.f"}, "", true},
		{"a list", []string{"a.b.c, d.e.f"}, "", true},
		{"empty", []string{" "}, "", true},
	} {
		h := http.Header{}
		for _, v := range tc.values {
			h.Add("DPoP", v)
		}
		got, err := dpop.HeaderProof(h)
		if got != tc.want || (err != nil) != tc.refused {
			t.Errorf("%s: HeaderProof = %q, %v", tc.name, got, err)
		}
	}
}

func TestAuthorizationToken(t *testing.T) {
	for in, want := range map[string]string{
		"DPoP abc":    "abc",
		"dpop abc":    "abc",
		"Bearer abc":  "",
		"DPoP":        "",
		"DPoP a b":    "",
		"DPoPabc":     "",
		"DPoP   abc":  "abc",
		"Basic YWJj=": "",
	} {
		got, ok := dpop.AuthorizationToken(in)
		if got != want || ok != (want != "") {
			t.Errorf("AuthorizationToken(%q) = %q, %v", in, got, ok)
		}
	}
}

func TestChallenge(t *testing.T) {
	if got := dpop.Challenge([]string{"ES256", "EdDSA"}, "invalid_dpop_proof", `bad "proof"`); got != `DPoP error="invalid_dpop_proof", error_description="bad proof", algs="ES256 EdDSA"` {
		t.Fatal(got)
	}
	if got := dpop.Challenge([]string{"ES256"}, "", ""); got != `DPoP algs="ES256"` {
		t.Fatal(got)
	}
	if got := dpop.Challenge(nil, "invalid_token", ""); !strings.HasPrefix(got, `DPoP error="invalid_token"`) {
		t.Fatal(got)
	}
}
