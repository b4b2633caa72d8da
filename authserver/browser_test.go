package authserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
)

// spaOrigin is the origin of the spa client's redirect URI (callback).
const spaOrigin = "http://127.0.0.1:5173"

// request sends method path with headers (name, value pairs) and an
// optional form body, without following redirects.
func request(t testing.TB, e *env, method, path string, form url.Values, headers ...string) *http.Response {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// spaTokens runs the code flow of the spa client as alice.
func spaTokens(t testing.TB, e *env, scopes ...string) *oauth2.Token {
	t.Helper()
	cfg := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), RedirectURL: callback, Scopes: scopes}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	verifier := oauth2.GenerateVerifier()
	loc := login(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "alice", alicePassword)
	tok, err := cfg.Exchange(context.Background(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCORSForBrowserClients(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A second browser client on another origin, with an extra origin.
	if err := e.store.CreateClient(ctx, &identity.Client{ID: "other", Public: true, Grants: []string{identity.GrantAuthorizationCode},
		RedirectURIs: []string{"https://other.example/cb"}, AllowedOrigins: []string{"https://extra.example:8443"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	tok := spaTokens(t, e, "openid", "orders:read")

	cases := []struct {
		name, method, path, origin string
		form                       url.Values
		headers                    []string
		wantAllow                  string // "" for no Access-Control-Allow-Origin
		wantStatus                 int
	}{
		{name: "discovery from the spa origin", method: "GET", path: "/.well-known/openid-configuration", origin: spaOrigin, wantAllow: spaOrigin, wantStatus: 200},
		{name: "discovery from an allowed_origins origin", method: "GET", path: "/.well-known/openid-configuration", origin: "https://extra.example:8443", wantAllow: "https://extra.example:8443", wantStatus: 200},
		{name: "JWKS from the spa origin", method: "GET", path: "/.well-known/jwks.json", origin: spaOrigin, wantAllow: spaOrigin, wantStatus: 200},
		{name: "discovery from an unknown origin", method: "GET", path: "/.well-known/openid-configuration", origin: "https://evil.example", wantStatus: 200},
		{name: "the origin of a redirect URI's path is not an origin", method: "GET", path: "/.well-known/jwks.json", origin: spaOrigin + "/callback", wantStatus: 200},
		{name: "null origin", method: "GET", path: "/.well-known/jwks.json", origin: "null", wantStatus: 200},
		{name: "preflight to the token endpoint", method: "OPTIONS", path: "/oauth2/token", origin: spaOrigin,
			headers: []string{"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type"}, wantAllow: spaOrigin, wantStatus: 204},
		{name: "preflight from an unknown origin", method: "OPTIONS", path: "/oauth2/token", origin: "https://evil.example",
			headers: []string{"Access-Control-Request-Method", "POST"}, wantStatus: 204},
		{name: "preflight to userinfo", method: "OPTIONS", path: "/userinfo", origin: spaOrigin,
			headers: []string{"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization"}, wantAllow: spaOrigin, wantStatus: 204},
		{name: "preflight to revoke", method: "OPTIONS", path: "/oauth2/revoke", origin: spaOrigin,
			headers: []string{"Access-Control-Request-Method", "POST"}, wantAllow: spaOrigin, wantStatus: 204},
		{name: "preflight to logout", method: "OPTIONS", path: "/oauth2/logout", origin: spaOrigin,
			headers: []string{"Access-Control-Request-Method", "POST"}, wantAllow: spaOrigin, wantStatus: 204},
		{name: "token request of spa from its origin", method: "POST", path: "/oauth2/token", origin: spaOrigin,
			form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"spa"}, "refresh_token": {"unknown"}}, wantAllow: spaOrigin, wantStatus: 400},
		{name: "token request of spa from another client's origin", method: "POST", path: "/oauth2/token", origin: "https://other.example",
			form: url.Values{"grant_type": {"refresh_token"}, "client_id": {"spa"}, "refresh_token": {"unknown"}}, wantStatus: 400},
		{name: "userinfo of a spa token from its origin", method: "GET", path: "/userinfo", origin: spaOrigin,
			headers: []string{"Authorization", "Bearer " + tok.AccessToken}, wantAllow: spaOrigin, wantStatus: 200},
		{name: "userinfo of a spa token from another client's origin", method: "GET", path: "/userinfo", origin: "https://other.example",
			headers: []string{"Authorization", "Bearer " + tok.AccessToken}, wantStatus: 200},
		{name: "the login page answers no CORS", method: "GET", path: "/login", origin: spaOrigin, wantStatus: 400},
		{name: "introspection answers no CORS", method: "POST", path: "/oauth2/introspect", origin: spaOrigin,
			form: url.Values{"token": {"x"}}, wantStatus: 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := request(t, e, c.method, c.path, c.form, append([]string{"Origin", c.origin}, c.headers...)...)
			if resp.StatusCode != c.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, c.wantStatus)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != c.wantAllow {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, c.wantAllow)
			}
			if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("Access-Control-Allow-Credentials is set: no endpoint needs cookies across origins")
			}
			if c.path != "/login" && c.path != "/oauth2/introspect" && !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q lacks Origin", resp.Header.Values("Vary"))
			}
			if c.method == "OPTIONS" && c.wantAllow != "" {
				if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, c.headers[1]) {
					t.Errorf("Access-Control-Allow-Methods %q lacks %s", m, c.headers[1])
				}
				if h := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(h, "authorization") || !strings.Contains(h, "content-type") {
					t.Errorf("Access-Control-Allow-Headers %q", h)
				}
			}
		})
	}
}

func TestLoginPageCSPAllowsOnlyTheRedirectOrigin(t *testing.T) {
	e := newEnv(t)
	cfg := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), RedirectURL: callback, Scopes: []string{"openid"}}
	resp := request(t, e, "GET", strings.TrimPrefix(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), e.url), nil)
	if resp.StatusCode != 200 {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	if got := directives["form-action"]; got != "'self' "+spaOrigin {
		t.Errorf("form-action %q, want 'self' %s (Chromium applies it to the 303 to the redirect URI)", got, spaOrigin)
	}
	for _, d := range []string{"default-src", "script-src", "style-src"} {
		if strings.Contains(directives[d], "unsafe") || strings.Contains(directives[d], "*") {
			t.Errorf("%s %q is not strict", d, directives[d])
		}
	}
	if directives["default-src"] != "'none'" || directives["frame-ancestors"] != "'none'" || directives["base-uri"] != "'none'" {
		t.Errorf("CSP %q", csp)
	}
	if !strings.HasPrefix(directives["style-src"], "'sha256-") {
		t.Errorf("style-src %q: the page's style is allowed by its hash only", directives["style-src"])
	}
	// An error page has no form at all.
	resp = request(t, e, "GET", "/oauth2/authorize?client_id=spa&redirect_uri=https://evil.example/cb&response_type=code", nil)
	if resp.StatusCode != 400 || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'none'") {
		t.Errorf("error page: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	tok := spaTokens(t, e, "openid", "email")
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		resp := request(t, e, "GET", "/userinfo", nil, "Authorization", scheme+" "+tok.AccessToken)
		if resp.StatusCode != 200 {
			t.Errorf("userinfo with scheme %q: %d", scheme, resp.StatusCode)
		}
	}
	for _, h := range []string{"Basic " + tok.AccessToken, "Bearer", "Bearer ", "Bearertoken", tok.AccessToken} {
		if resp := request(t, e, "GET", "/userinfo", nil, "Authorization", h); resp.StatusCode != 401 {
			t.Errorf("userinfo with Authorization %.12q…: %d, want 401", h, resp.StatusCode)
		}
	}
}

func TestBasicCredentialsNotFormEncoded(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	// Secrets as Python requests or curl -u send them: not form-encoded.
	for id, secret := range map[string]string{
		"raw-invalid-escape": "50%off&a=b",   // not a valid form encoding at all
		"raw-plus":           "a+b c%41",     // decodes, but to something else
		"encoded-by-spec":    "p%&=+:é ü~!*", // sent form-encoded, as RFC 6749 §2.3.1 says
	} {
		if err := e.store.CreateClient(ctx, &identity.Client{ID: id, SecretHash: mustHash(t, secret),
			Grants: []string{identity.GrantClientCredentials}, Audiences: []string{"accounts"}}); err != nil {
			t.Fatal(err)
		}
	}
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	cases := []struct {
		name, authorization string
		want                int
	}{
		{"raw secret that is not a valid form encoding", basic("raw-invalid-escape", "50%off&a=b"), 200},
		{"raw secret that decodes to another value", basic("raw-plus", "a+b c%41"), 200},
		{"form-encoded secret", basic("encoded-by-spec", url.QueryEscape("p%&=+:é ü~!*")), 200},
		{"form-encoded secret sent raw", basic("encoded-by-spec", "p%&=+:é ü~!*"), 200},
		{"wrong raw secret", basic("raw-invalid-escape", "50%off&a=c"), 401},
		{"wrong raw secret of a client that does not exist", basic("nobody", "50%off&a=c"), 401},
		{"decoded value of a raw secret is not the secret", basic("raw-plus", "a b cA"), 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := request(t, e, "POST", "/oauth2/token", form, "Authorization", c.authorization)
			if resp.StatusCode != c.want {
				t.Errorf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}

func TestBasicChallengeOnlyForBasic(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name          string
		form          url.Values
		authorization string
		wantChallenge bool
	}{
		{"bad Basic credentials", url.Values{"grant_type": {"client_credentials"}}, "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:wrong")), true},
		{"lower-case basic scheme", url.Values{"grant_type": {"client_credentials"}}, "basic " + base64.StdEncoding.EncodeToString([]byte("svc:wrong")), true},
		{"Basic that is not base64", url.Values{"grant_type": {"client_credentials"}}, "Basic !!!", true},
		{"bad client_secret_post", url.Values{"grant_type": {"client_credentials"}, "client_id": {"svc"}, "client_secret": {"wrong"}}, "", false},
		{"no credentials at all", url.Values{"grant_type": {"client_credentials"}}, "", false},
		{"bad client assertion", url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {authserver.AssertionType}, "client_assertion": {"x.y.z"}}, "", false},
		{"a Bearer header is no client authentication", url.Values{"grant_type": {"client_credentials"}}, "Bearer x.y.z", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var headers []string
			if c.authorization != "" {
				headers = []string{"Authorization", c.authorization}
			}
			resp := request(t, e, "POST", "/oauth2/token", c.form, headers...)
			// RFC 6749 §5.2: 401 with a Basic challenge when Basic was
			// used; 400 otherwise, since a 401 must carry a challenge
			// (RFC 9110 §15.5.2).
			want := map[bool]int{true: 401, false: 400}[c.wantChallenge]
			var body struct{ Error string }
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != want || body.Error != "invalid_client" {
				t.Fatalf("status %d %q, want %d invalid_client", resp.StatusCode, body.Error, want)
			}
			if got := resp.Header.Get("WWW-Authenticate"); (got != "") != c.wantChallenge || (c.wantChallenge && !strings.HasPrefix(got, "Basic ")) {
				t.Errorf("WWW-Authenticate %q; want a Basic challenge: %v", got, c.wantChallenge)
			}
		})
	}
}

// TestTokenRequestRedirectURI: RFC 6749 §4.1.3 requires redirect_uri in
// the token request, identical, only when the authorization request had it.
func TestTokenRequestRedirectURI(t *testing.T) {
	e := newEnv(t)
	codeFor := func(withRedirect bool) (code, verifier string) {
		verifier = oauth2.GenerateVerifier()
		cfg := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), Scopes: []string{"openid"}}
		if withRedirect {
			cfg.RedirectURL = callback
		}
		loc := login(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "alice", alicePassword)
		if !strings.HasPrefix(loc.String(), callback+"?") {
			t.Fatalf("redirected to %s", loc)
		}
		return loc.Query().Get("code"), verifier
	}
	cases := []struct {
		name          string
		authorizeWith bool
		tokenRedirect string
		wantStatus    int
	}{
		{"given in both", true, callback, 200},
		{"given at authorize, missing at token", true, "", 400},
		{"given at authorize, another at token", true, callback + "x", 400},
		{"missing in both", false, "", 200},
		{"missing at authorize, the registered one at token", false, callback, 200},
		{"missing at authorize, another at token", false, "http://127.0.0.1:5173/other", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, verifier := codeFor(c.authorizeWith)
			form := url.Values{"grant_type": {"authorization_code"}, "client_id": {"spa"}, "code": {code}, "code_verifier": {verifier}}
			if c.tokenRedirect != "" {
				form.Set("redirect_uri", c.tokenRedirect)
			}
			if resp := request(t, e, "POST", "/oauth2/token", form); resp.StatusCode != c.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, c.wantStatus)
			}
		})
	}
}

// TestIntrospectionIgnoresAWrongHint: token_type_hint is a hint; the
// server must go on with the other types (RFC 7662 §2.1).
func TestIntrospectionIgnoresAWrongHint(t *testing.T) {
	e := newEnv(t)
	tok := spaTokens(t, e, "openid", "offline_access")
	for _, c := range []struct{ name, token, hint string }{
		{"access token hinted as refresh token", tok.AccessToken, "refresh_token"},
		{"refresh token hinted as access token", tok.RefreshToken, "access_token"},
		{"access token with an unknown hint", tok.AccessToken, "id_token"},
	} {
		status, body := post(t, e, "/oauth2/introspect", url.Values{"token": {c.token}, "token_type_hint": {c.hint}}, "svc", svcSecret)
		if status != 200 || body["active"] != true {
			t.Errorf("%s: %d %v, want active", c.name, status, body["active"])
		}
	}
}

// TestWrongPasswordShowsTheFormAgain: 200 with the message and the form,
// no redirect, no 401 (which would need an HTTP challenge).
func TestWrongPasswordShowsTheFormAgain(t *testing.T) {
	e := newEnv(t)
	cfg := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), RedirectURL: callback, Scopes: []string{"openid"}}
	authURL := cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	page := request(t, e, "GET", strings.TrimPrefix(authURL, e.url), nil)
	body := readAll(t, page)
	form := url.Values{"username": {"alice"}, "password": {"not her password"}}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		form.Add(m[1], htmlUnescape(m[2]))
	}
	var csrf string
	for _, c := range page.Cookies() {
		if c.Name == "gatehouse_csrf" {
			csrf = c.Value
		}
	}
	resp := request(t, e, "POST", "/login", form, "Cookie", "gatehouse_csrf="+csrf)
	again := readAll(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(again, "Wrong username or password") || !strings.Contains(again, `<form method="post"`) {
		t.Fatalf("wrong password: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+spaOrigin) {
		t.Errorf("the form shown again lost its form-action: %q", csp)
	}
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	if _, err := io.Copy(&b, resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestAuthorizeRefusesWhatItWouldIgnore: request objects and other
// response modes are refused at the redirect URI, never silently ignored.
func TestAuthorizeRefusesWhatItWouldIgnore(t *testing.T) {
	e := newEnv(t)
	base := url.Values{"client_id": {"spa"}, "redirect_uri": {callback}, "response_type": {"code"}, "scope": {"openid"},
		"state": {"st"}, "code_challenge": {strings.Repeat("A", 43)}, "code_challenge_method": {"S256"}}
	for _, c := range []struct{ name, param, value, wantError string }{
		{"request object", "request", "eyJhbGciOiJub25lIn0.e30.", "request_not_supported"},
		{"request_uri", "request_uri", "https://evil.example/r", "request_uri_not_supported"},
		{"form_post", "response_mode", "form_post", "invalid_request"},
		{"fragment", "response_mode", "fragment", "invalid_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range base {
				q[k] = v
			}
			q.Set(c.param, c.value)
			resp := request(t, e, "GET", "/oauth2/authorize?"+q.Encode(), nil)
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != 303 || loc.Query().Get("error") != c.wantError || loc.Query().Get("state") != "st" {
				t.Fatalf("%d Location %q, want a redirect with error=%s", resp.StatusCode, loc, c.wantError)
			}
		})
	}
	q := url.Values{}
	for k, v := range base {
		q[k] = v
	}
	q.Set("response_mode", "query")
	if resp := request(t, e, "GET", "/oauth2/authorize?"+q.Encode(), nil); resp.StatusCode != 200 {
		t.Errorf("response_mode=query: %d, want the login form", resp.StatusCode)
	}
}
