package authserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
)

const parVerifier = "dBjftJeZ4CVP-mJ92K1rLNPOpYuerkDwsdWpaQqTQPM"

func parChallenge() string {
	sum := sha256.Sum256([]byte(parVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// spaRequest is an authorization request of the public client spa.
func spaRequest() url.Values {
	return url.Values{"client_id": {"spa"}, "response_type": {"code"}, "redirect_uri": {callback}, "scope": {"openid orders:read"},
		"state": {"st-1"}, "code_challenge": {parChallenge()}, "code_challenge_method": {"S256"}}
}

// push pushes form to /oauth2/par (with Basic credentials when user is set)
// and returns the status and the answer.
func push(t *testing.T, e *env, form url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	return post(t, e, "/oauth2/par", form, user, pass)
}

// pushed pushes form and returns its request_uri, failing the test
// otherwise.
func pushed(t *testing.T, e *env, form url.Values, user, pass string) string {
	t.Helper()
	status, out := push(t, e, form, user, pass)
	if status != http.StatusCreated {
		t.Fatalf("PAR: %d %v", status, out)
	}
	uri, _ := out["request_uri"].(string)
	return uri
}

func authorizeURL(e *env, client, requestURI string) string {
	return e.url + "/oauth2/authorize?" + url.Values{"client_id": {client}, "request_uri": {requestURI}}.Encode()
}

// getStatus GETs u without following redirects and returns the status
// and the Location, or the body when there is none.
func getStatus(t *testing.T, u string) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "" {
		return resp.StatusCode, loc
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestPARPushThenAuthorize(t *testing.T) {
	e := newEnv(t)
	status, out := push(t, e, spaRequest(), "", "")
	if status != http.StatusCreated {
		t.Fatalf("PAR: %d %v", status, out)
	}
	uri, _ := out["request_uri"].(string)
	random, ok := strings.CutPrefix(uri, "urn:ietf:params:oauth:request_uri:")
	if b, err := base64.RawURLEncoding.DecodeString(random); !ok || err != nil || len(b) < 16 {
		t.Fatalf("request_uri %q: want the RFC 9126 URN with at least 128 random bits", uri)
	}
	if out["expires_in"] != float64(60) {
		t.Errorf("expires_in = %v, want 60", out["expires_in"])
	}
	loc := login(t, authorizeURL(e, "spa", uri), "alice", alicePassword)
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != "st-1" || !strings.HasPrefix(loc.String(), callback) {
		t.Fatalf("redirect %s, want a code and the pushed state at the pushed redirect_uri", loc)
	}
	status, tok := post(t, e, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"spa"},
		"redirect_uri": {callback}, "code_verifier": {parVerifier}}, "", "")
	if status != http.StatusOK || tok["scope"] != "openid orders:read" {
		t.Fatalf("token: %d %v", status, tok)
	}

	// Used: the request_uri is gone.
	if status, _ := getStatus(t, authorizeURL(e, "spa", uri)); status != http.StatusBadRequest {
		t.Errorf("the request_uri again: %d, want 400", status)
	}
}

// A confidential client pushes with its secret; the login form carries a
// request_uri of its own, not the parameters, so what the browser posts
// back cannot widen the request; a wrong password gets a fresh one.
func TestPARLoginFormCannotChangeTheRequest(t *testing.T) {
	e := newEnv(t)
	form := url.Values{"response_type": {"code"}, "redirect_uri": {callback}, "scope": {"openid"}, "state": {"s"}}
	uri := pushed(t, e, form, "web", webSecret)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fields := func(resp *http.Response) url.Values {
		t.Helper()
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		v := url.Values{}
		for _, m := range hiddenField.FindAllStringSubmatch(string(body), -1) {
			v.Add(m[1], htmlUnescape(m[2]))
		}
		return v
	}
	resp, err := browser.Get(authorizeURL(e, "web", uri))
	if err != nil {
		t.Fatal(err)
	}
	hidden := fields(resp)
	if hidden.Get("scope") != "" || hidden.Get("redirect_uri") != "" || hidden.Get("request_uri") == "" || hidden.Get("request_uri") == uri {
		t.Fatalf("login form fields %v: want client_id and a fresh request_uri only", hidden)
	}
	hidden.Set("username", "alice")
	hidden.Set("password", "wrong password")
	resp, err = browser.PostForm(e.url+"/login", hidden)
	if err != nil {
		t.Fatal(err)
	}
	again := fields(resp)
	if again.Get("request_uri") == "" || again.Get("request_uri") == hidden.Get("request_uri") {
		t.Fatalf("after a wrong password: fields %v, want a fresh request_uri", again)
	}
	again.Set("username", "alice")
	again.Set("password", alicePassword)
	again.Set("scope", "openid orders:read") // tampered: ignored
	resp, err = browser.PostForm(e.url+"/login", again)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != http.StatusSeeOther || code == "" {
		t.Fatalf("login: %d %s", resp.StatusCode, loc)
	}
	status, tok := post(t, e, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}}, "web", webSecret)
	if status != http.StatusOK || tok["scope"] != "openid" {
		t.Fatalf("token: %d %v, want the pushed scope only", status, tok)
	}
}

func TestPARRefusals(t *testing.T) {
	clock := &testClock{t: time.Now()}
	e := newEnv(t, func(c *authserver.Config) { c.Now = clock.Now })
	if err := e.store.CreateClient(context.Background(), &identity.Client{ID: "fapi", SecretHash: mustHash(t, webSecret), RequirePAR: true,
		Grants: []string{identity.GrantAuthorizationCode}, RedirectURIs: []string{callback}, Scopes: []string{"openid"}}); err != nil {
		t.Fatal(err)
	}

	t.Run("expired", func(t *testing.T) {
		uri := pushed(t, e, spaRequest(), "", "")
		clock.Advance(61 * time.Second)
		if status, body := getStatus(t, authorizeURL(e, "spa", uri)); status != http.StatusBadRequest || !strings.Contains(body, "expired") {
			t.Fatalf("an expired request_uri: %d, want 400 naming expiry", status)
		}
	})
	t.Run("another client's request_uri", func(t *testing.T) {
		form := url.Values{"response_type": {"code"}, "redirect_uri": {callback}, "scope": {"openid"}}
		uri := pushed(t, e, form, "web", webSecret)
		if status, body := getStatus(t, authorizeURL(e, "spa", uri)); status != http.StatusBadRequest || strings.Contains(body, "code=") {
			t.Fatalf("another client's request_uri: %d, want 400", status)
		}
		// Not spent by the attempt: its own client still uses it.
		if status, _ := getStatus(t, authorizeURL(e, "web", uri)); status != http.StatusOK {
			t.Fatalf("its own client after the attempt: %d, want the login form", status)
		}
	})
	t.Run("reuse", func(t *testing.T) {
		uri := pushed(t, e, spaRequest(), "", "")
		if status, _ := getStatus(t, authorizeURL(e, "spa", uri)); status != http.StatusOK {
			t.Fatalf("first use: %d", status)
		}
		if status, _ := getStatus(t, authorizeURL(e, "spa", uri)); status != http.StatusBadRequest {
			t.Fatalf("second use: %d, want 400", status)
		}
	})
	t.Run("a client that requires PAR, without it", func(t *testing.T) {
		q := url.Values{"client_id": {"fapi"}, "response_type": {"code"}, "redirect_uri": {callback}, "scope": {"openid"}, "state": {"x"}}
		status, loc := getStatus(t, e.url+"/oauth2/authorize?"+q.Encode())
		u, _ := url.Parse(loc)
		if status != http.StatusSeeOther || u.Query().Get("error") != "invalid_request" || !strings.Contains(u.Query().Get("error_description"), "push") {
			t.Fatalf("RequirePAR without PAR: %d %s", status, loc)
		}
		uri := pushed(t, e, url.Values{"response_type": {"code"}, "redirect_uri": {callback}, "scope": {"openid"}}, "fapi", webSecret)
		if status, _ := getStatus(t, authorizeURL(e, "fapi", uri)); status != http.StatusOK {
			t.Fatalf("RequirePAR with PAR: %d, want the login form", status)
		}
	})
	for _, c := range []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		code       string
	}{
		{"a request object (JAR)", with(spaRequest(), "request", "eyJhbGciOiJub25lIn0.e30."), "", "", 400, "request_not_supported"},
		{"a request_uri pushed", with(spaRequest(), "request_uri", "urn:ietf:params:oauth:request_uri:x"), "", "", 400, "invalid_request"},
		{"an unregistered redirect_uri", with(spaRequest(), "redirect_uri", "https://evil.example/cb"), "", "", 400, "invalid_request"},
		{"a public client without PKCE", with(spaRequest(), "code_challenge", ""), "", "", 400, "invalid_request"},
		{"a scope the client may not have", with(spaRequest(), "scope", "admin"), "", "", 400, "invalid_scope"},
		{"a bad client secret", url.Values{"response_type": {"code"}, "redirect_uri": {callback}}, "web", "wrong", 401, "invalid_client"},
		{"a confidential client without credentials", url.Values{"client_id": {"web"}, "response_type": {"code"}, "redirect_uri": {callback}}, "", "", 400, "invalid_client"},
		{"a client_id that is not the authenticated client's", url.Values{"client_id": {"spa"}, "response_type": {"code"}, "redirect_uri": {callback}}, "web", webSecret, 400, "invalid_request"},
	} {
		t.Run("PAR refuses "+c.name, func(t *testing.T) {
			status, out := push(t, e, c.form, c.user, c.pass)
			if status != c.status || out["error"] != c.code {
				t.Fatalf("%d %v, want %d %s", status, out, c.status, c.code)
			}
		})
	}
}

func with(q url.Values, k, v string) url.Values {
	out := url.Values{}
	for key, vals := range q {
		out[key] = vals
	}
	if v == "" {
		out.Del(k)
	} else {
		out.Set(k, v)
	}
	return out
}

func TestPARRequiredServerWide(t *testing.T) {
	e := newEnv(t, func(c *authserver.Config) { c.RequirePAR = true })
	status, loc := getStatus(t, e.url+"/oauth2/authorize?"+spaRequest().Encode())
	if u, _ := url.Parse(loc); status != http.StatusSeeOther || u.Query().Get("error") != "invalid_request" {
		t.Fatalf("without PAR: %d %s", status, loc)
	}
	uri := pushed(t, e, spaRequest(), "", "")
	if loc := login(t, authorizeURL(e, "spa", uri), "alice", alicePassword); loc.Query().Get("code") == "" {
		t.Fatalf("with PAR: %s", loc)
	}
	var meta map[string]any
	resp, err := http.Get(e.url + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	if meta["pushed_authorization_request_endpoint"] != e.url+"/oauth2/par" || meta["require_pushed_authorization_requests"] != true {
		t.Errorf("discovery: %v %v", meta["pushed_authorization_request_endpoint"], meta["require_pushed_authorization_requests"])
	}
}

// A browser client pushes from its own origin (CORS), and another origin
// cannot read the answer.
func TestPARCORS(t *testing.T) {
	e := newEnv(t)
	pre := request(t, e, http.MethodOptions, "/oauth2/par", nil, "Origin", "http://127.0.0.1:5173", "Access-Control-Request-Method", "POST")
	if pre.StatusCode != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:5173" {
		t.Fatalf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	resp := request(t, e, http.MethodPost, "/oauth2/par", spaRequest(), "Origin", "http://127.0.0.1:5173")
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:5173" {
		t.Fatalf("push from the app's origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp = request(t, e, http.MethodPost, "/oauth2/par", spaRequest(), "Origin", "https://evil.example")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("another origin may read the answer: %v", resp.Header)
	}
}
