package authserver_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// inErrorSet reports whether s has only the characters RFC 6749 §5.2
// allows in error and error_description: %x20-21 / %x23-5B / %x5D-7E.
func inErrorSet(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

var challengeDescription = regexp.MustCompile(`error_description="((?:[^"\\]|\\.)*)"`)

// TestErrorDescriptionsStayInTheRFCCharset is item 14 of issue #13: an
// error_description held '"' (from %q), which RFC 6749 §5.2 forbids. The
// test walks the error answers of every endpoint, many of them quoting
// what the request sent (a scope, an audience, a parameter name) with '"',
// '\', control and non-ASCII characters in it, and checks error and
// error_description of the JSON body, of the redirect and of the
// WWW-Authenticate challenge.
func TestErrorDescriptionsStayInTheRFCCharset(t *testing.T) {
	e := newEnv(t)
	const nasty = "a\"b\\c\u00e9\x01"
	tok := aliceToken(t, e)
	type req struct {
		name, method, path, body, user, pass string
		headers                              []string
	}
	form := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	cc := func(kv ...string) string { return form(append([]string{"grant_type", "client_credentials"}, kv...)...) }
	exch := func(kv ...string) string {
		return form(append([]string{"grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"}, kv...)...)
	}
	const jwtType = "urn:ietf:params:oauth:token-type:access_token"
	unsigned := "eyJhbGciOiJub25lIn0." + "eyJpc3MiOiJ4XCJ5Iiwic3ViIjoieFwieSJ9" + "." // iss, sub: x"y
	reqs := []req{
		{name: "no form", method: "POST", path: "/oauth2/token", body: "x", headers: []string{"Content-Type", "text/plain"}},
		{name: "body too large", method: "POST", path: "/oauth2/token", body: "a=" + strings.Repeat("x", 70<<10)},
		{name: "repeated parameter named with quotes", method: "POST", path: "/oauth2/token", body: url.QueryEscape(nasty) + "=1&" + url.QueryEscape(nasty) + "=2"},
		{name: "no client", method: "POST", path: "/oauth2/token", body: cc()},
		{name: "unknown client", method: "POST", path: "/oauth2/token", body: cc(), user: nasty, pass: "x"},
		{name: "wrong secret", method: "POST", path: "/oauth2/token", body: cc(), user: "svc", pass: "wrong-secret-0123456789"},
		{name: "public client with a secret", method: "POST", path: "/oauth2/token", body: cc("client_id", "spa", "client_secret", "x")},
		{name: "Basic and client_secret", method: "POST", path: "/oauth2/token", body: cc("client_secret", "x"), user: "svc", pass: svcSecret},
		{name: "Basic and another client_id", method: "POST", path: "/oauth2/token", body: cc("client_id", nasty), user: "svc", pass: svcSecret},
		{name: "assertion of a wrong type", method: "POST", path: "/oauth2/token", body: cc("client_assertion_type", nasty, "client_assertion", "x")},
		{name: "assertion missing", method: "POST", path: "/oauth2/token", body: cc("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")},
		{name: "assertion not a JWT", method: "POST", path: "/oauth2/token", body: cc("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", nasty)},
		{name: "assertion naming x\"y", method: "POST", path: "/oauth2/token", body: cc("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", unsigned)},
		{name: "no grant_type", method: "POST", path: "/oauth2/token", body: form("scope", "x"), user: "svc", pass: svcSecret},
		{name: "unsupported grant_type", method: "POST", path: "/oauth2/token", body: form("grant_type", nasty), user: "svc", pass: svcSecret},
		{name: "grant not allowed", method: "POST", path: "/oauth2/token", body: cc(), user: "cli", pass: cliSecret},
		{name: "scope with quotes", method: "POST", path: "/oauth2/token", body: cc("scope", nasty), user: "svc", pass: svcSecret},
		{name: "audience with quotes", method: "POST", path: "/oauth2/token", body: cc("audience", nasty), user: "svc", pass: svcSecret},
		{name: "password grant without password", method: "POST", path: "/oauth2/token", body: form("grant_type", "password", "username", nasty), user: "cli", pass: cliSecret},
		{name: "wrong password", method: "POST", path: "/oauth2/token", body: form("grant_type", "password", "username", nasty, "password", nasty), user: "cli", pass: cliSecret},
		{name: "refresh without token", method: "POST", path: "/oauth2/token", body: form("grant_type", "refresh_token"), user: "cli", pass: cliSecret},
		{name: "unknown refresh token", method: "POST", path: "/oauth2/token", body: form("grant_type", "refresh_token", "refresh_token", nasty), user: "cli", pass: cliSecret},
		{name: "refresh with a scope not granted", method: "POST", path: "/oauth2/token", body: form("grant_type", "refresh_token", "refresh_token", tok.RefreshToken, "scope", nasty), user: "cli", pass: cliSecret},
		{name: "code grant without code", method: "POST", path: "/oauth2/token", body: form("grant_type", "authorization_code"), user: "web", pass: webSecret},
		{name: "unknown code", method: "POST", path: "/oauth2/token", body: form("grant_type", "authorization_code", "code", nasty), user: "web", pass: webSecret},
		{name: "exchange without subject", method: "POST", path: "/oauth2/token", body: exch(), user: "svc", pass: svcSecret},
		{name: "exchange of an unsupported type", method: "POST", path: "/oauth2/token", body: exch("subject_token", "x", "subject_token_type", nasty), user: "svc", pass: svcSecret},
		{name: "exchange with an actor token", method: "POST", path: "/oauth2/token", body: exch("subject_token", "x", "subject_token_type", jwtType, "actor_token", "y"), user: "svc", pass: svcSecret},
		{name: "exchange of a garbled token", method: "POST", path: "/oauth2/token", body: exch("subject_token", "a.b.c", "subject_token_type", jwtType), user: "svc", pass: svcSecret},
		{name: "exchange of a token not for the client", method: "POST", path: "/oauth2/token", body: exch("subject_token", tok.AccessToken, "subject_token_type", jwtType), user: "pay", pass: paySecret},
		{name: "exchange asking another token type", method: "POST", path: "/oauth2/token", body: exch("subject_token", "x", "subject_token_type", jwtType, "requested_token_type", nasty), user: "svc", pass: svcSecret},
		{name: "introspection without a client", method: "POST", path: "/oauth2/introspect", body: form("token", "x")},
		{name: "introspection by a public client", method: "POST", path: "/oauth2/introspect", body: form("token", "x", "client_id", "spa")},
		{name: "introspection without token", method: "POST", path: "/oauth2/introspect", body: form(), user: "svc", pass: svcSecret},
		{name: "revocation without token", method: "POST", path: "/oauth2/revoke", body: form(), user: "cli", pass: cliSecret},
		{name: "userinfo with a garbled token", method: "GET", path: "/userinfo", headers: []string{"Authorization", "Bearer a.b.c"}},
		{name: "userinfo without openid", method: "GET", path: "/userinfo", headers: []string{"Authorization", "Bearer " + tok.AccessToken}},
		{name: "authorize with a scope with quotes", method: "GET", path: "/oauth2/authorize?" + form("response_type", "code", "client_id", "web", "redirect_uri", callback, "scope", nasty)},
		{name: "authorize with an audience with quotes", method: "GET", path: "/oauth2/authorize?" + form("response_type", "code", "client_id", "web", "redirect_uri", callback, "audience", nasty)},
		{name: "authorize with another response_mode", method: "GET", path: "/oauth2/authorize?" + form("response_type", "code", "client_id", "web", "redirect_uri", callback, "response_mode", nasty)},
		{name: "authorize with another response_type", method: "GET", path: "/oauth2/authorize?" + form("response_type", nasty, "client_id", "web", "redirect_uri", callback)},
	}
	for range 4 { // the login throttle's answer (Free is 3 in newEnv)
		reqs = append(reqs, req{name: "a throttled login", method: "POST", path: "/oauth2/token",
			body: form("grant_type", "password", "username", "alice", "password", nasty), user: "cli", pass: cliSecret})
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		hr, err := http.NewRequest(r.method, e.url+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if r.method == "POST" {
			hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(r.headers); i += 2 {
			hr.Header.Set(r.headers[i], r.headers[i+1])
		}
		if r.user != "" {
			hr.SetBasicAuth(url.QueryEscape(r.user), url.QueryEscape(r.pass))
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got []string // what the answer carries as error and error_description
		var body map[string]any
		if json.Unmarshal(raw, &body) == nil {
			for _, k := range []string{"error", "error_description"} {
				if v, ok := body[k].(string); ok {
					got = append(got, v)
				}
			}
		}
		if loc, err := url.Parse(resp.Header.Get("Location")); err == nil && loc.Query().Has("error") {
			got = append(got, loc.Query().Get("error"), loc.Query().Get("error_description"))
		}
		for _, m := range challengeDescription.FindAllStringSubmatch(resp.Header.Get("WWW-Authenticate"), -1) {
			got = append(got, m[1])
		}
		if len(got) < 2 {
			t.Errorf("%s: %d with no error and error_description: %s", r.name, resp.StatusCode, raw)
			continue
		}
		for _, v := range got {
			if !inErrorSet(v) {
				t.Errorf("%s: %d: %q is outside RFC 6749 §5.2's characters", r.name, resp.StatusCode, v)
			}
		}
		seen[resp.Status] = true
	}
	t.Logf("%d error answers walked, statuses %v", len(reqs), seen)
	if !seen["429 Too Many Requests"] {
		t.Error("the throttle's answer was not reached")
	}
}
