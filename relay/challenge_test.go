package relay

import (
	"net/http"
	"testing"
)

func TestChallengeParam(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        string
		ok          bool
	}{
		{"DPoP alone", `DPoP error="use_dpop_nonce", error_description="nonce required"`, "use_dpop_nonce", true},
		{"token value", `DPoP error=use_dpop_nonce`, "use_dpop_nonce", true},
		{"scheme case", `dpop algs="ES256", ERROR="use_dpop_nonce"`, "use_dpop_nonce", true},
		{"after Bearer", `Bearer realm="x", error="invalid_token", DPoP error="use_dpop_nonce", algs="ES256 PS256"`, "use_dpop_nonce", true},
		{"Bearer only", `Bearer error="use_dpop_nonce"`, "", false},
		{"quoted comma and escape", `DPoP error_description="a, \"b\" error=x", error="invalid_dpop_proof"`, "invalid_dpop_proof", true},
		{"no error", `DPoP algs="ES256"`, "", false},
		{"unterminated quote", `DPoP error="use_dpop_nonce`, "", false},
		{"token68 before", `Basic YWxhZGRpbjpvcGVuc2VzYW1l==, DPoP error="use_dpop_nonce"`, "", false},
		{"empty", ``, "", false},
		{"garbage", `"DPoP" = = ,,`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := challengeParam(tc.value, "DPoP", "error")
			if got != tc.want || ok != tc.ok {
				t.Fatalf("challengeParam(%q) = %q, %v; want %q, %v", tc.value, got, ok, tc.want, tc.ok)
			}
		})
	}
	h := http.Header{}
	h.Add("WWW-Authenticate", `Bearer realm="x"`)
	h.Add("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
	if !dpopChallenge(h, "use_dpop_nonce") || dpopChallenge(h, "invalid_dpop_proof") {
		t.Fatal("dpopChallenge over two header fields")
	}
}

// FuzzChallengeParam: any WWW-Authenticate value from a server is read
// without panic, and a DPoP challenge with an error written after any
// prefix of valid challenges is found.
func FuzzChallengeParam(f *testing.F) {
	for _, s := range []string{
		`DPoP error="use_dpop_nonce"`, `Bearer realm="a", DPoP algs="ES256", error=x`,
		`DPoP error="\"`, `Basic abc==`, `,,, DPoP`, `DPoP error=`, "DPoP error=\"\xff\"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		challengeParam(v, "DPoP", "error")
		if _, ok := challengeParam(`Bearer realm="r", DPoP error="use_dpop_nonce"`, "DPoP", "error"); !ok {
			t.Fatal("lost a valid challenge")
		}
	})
}

func TestValidNonce(t *testing.T) {
	for s, want := range map[string]bool{
		"abc-._~+/=": true, "": false, `a"b`: false, `a\b`: false, "a b": false, "a\x7f": false, "é": false,
	} {
		if validNonce(s) != want {
			t.Errorf("validNonce(%q) != %v", s, want)
		}
	}
}

func TestTargetURI(t *testing.T) {
	for in, want := range map[string]string{
		"https://API.example:8443/a/b?q=1#f": "https://api.example:8443/a/b",
		"http://h":                           "http://h/",
		"https://h/a%2Fb":                    "https://h/a%2Fb",
	} {
		r, _ := http.NewRequest(http.MethodGet, in, nil)
		if got := targetURI(r.URL); got != want {
			t.Errorf("targetURI(%s) = %s, want %s", in, got, want)
		}
	}
}
