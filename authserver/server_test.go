package authserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

const (
	alicePassword = "correct horse battery staple"
	svcSecret     = "svc-secret-0123456789"
	cliSecret     = "cli-secret-0123456789"
	webSecret     = "web-secret-0123456789"
	paySecret     = "pay-secret-0123456789"
	callback      = "http://127.0.0.1:5173/callback"
)

// env is a running auth server over a real SQLite store, with the users
// and clients of the scenarios.
type env struct {
	srv    *authserver.Server
	url    string
	store  identity.Store
	alice  *identity.User
	logs   *syncBuffer
	legacy *httptest.Server
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustHash(t testing.TB, secret string) string {
	t.Helper()
	h, err := identity.HashPasswordWith(secret, testHashCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newEnv(t testing.TB, tweak ...func(*authserver.Config)) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	pw, err := identity.HashPasswordWith(alicePassword, testHashCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []*identity.User{
		{Username: "alice", Email: "alice@acme.test", Name: "Alice", PasswordHash: pw, Org: "acme", Groups: []string{"admin"}, Roles: []string{"admin", "user"}},
		{Username: "bob", Email: "bob@acme.test", PasswordHash: pw, Org: "acme"},
		{Username: "dave", Email: "dave@acme.test", PasswordHash: pw, Org: "acme", Disabled: true},
	} {
		if err := store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*identity.Client{
		// svc may introspect every token (the tests' introspect helper).
		{ID: "svc", SecretHash: mustHash(t, svcSecret), Grants: []string{identity.GrantClientCredentials, identity.GrantTokenExchange},
			Scopes: []string{"accounts:read", "orders:read"}, Audiences: []string{"accounts", "pay"}, Introspection: true},
		{ID: "pay", SecretHash: mustHash(t, paySecret), Grants: []string{identity.GrantTokenExchange},
			Scopes: []string{"orders:read"}, Audiences: []string{"ledger"}},
		{ID: "cli", SecretHash: mustHash(t, cliSecret), Grants: []string{identity.GrantPassword, identity.GrantRefreshToken},
			Scopes: []string{"openid", "profile", "email", "orders:read"}, Audiences: []string{"orders", "svc"}},
		{ID: "spa", Public: true, Grants: []string{identity.GrantAuthorizationCode, identity.GrantRefreshToken},
			RedirectURIs: []string{callback}, Scopes: []string{"openid", "profile", "email", "offline_access", "orders:read"}, Audiences: []string{"orders"}},
		{ID: "web", SecretHash: mustHash(t, webSecret), Grants: []string{identity.GrantAuthorizationCode},
			RedirectURIs: []string{callback}, Scopes: []string{"openid", "orders:read"}, Audiences: []string{"orders"}},
	} {
		if err := store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	e := startOn(t, store, tweak...)
	return e
}

// startOn starts a server instance on store (several may share one).
func startOn(t testing.TB, store identity.Store, tweak ...func(*authserver.Config)) *env {
	t.Helper()
	ctx := context.Background()
	alice, err := store.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{url: "http://" + ln.Addr().String(), store: store, alice: alice, logs: &syncBuffer{}}
	e.legacy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if user != "gatehouse" || pass != "legacy-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.ParseForm()
		switch r.PostForm.Get("token") {
		case "legacy-session-alice":
			json.NewEncoder(w).Encode(map[string]any{"active": true, "username": "alice", "scope": "orders:read", "exp": time.Now().Add(time.Hour).Unix()})
		default:
			json.NewEncoder(w).Encode(map[string]any{"active": false})
		}
	}))
	t.Cleanup(e.legacy.Close)
	cfg := authserver.Config{
		Issuer: e.url, Store: store,
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil)),
		Legacy: &authserver.LegacySessions{IntrospectionURL: e.legacy.URL, ClientID: "gatehouse", ClientSecret: "legacy-secret",
			TokenType: "urn:legacy:session"},
		Throttle: authserver.ThrottleConfig{Free: 3, Base: time.Minute},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	e.srv, err = authserver.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: e.srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return e
}

func (e *env) endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: e.url + "/oauth2/authorize", TokenURL: e.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
}

// verifier is what a resource server for audience builds: keys from the
// JWKS URL, nothing else.
func (e *env) verifier(t testing.TB, audience string, opts ...keys.RemoteOption) *token.Verifier {
	t.Helper()
	src, err := keys.NewRemoteFromIssuer(context.Background(), e.url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(src, e.url, audience, token.WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// oauthErr extracts the RFC 6749 error code of a failed x/oauth2 call.
func oauthErr(t testing.TB, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want an OAuth error, got %v", err)
	}
	return re.ErrorCode
}

func TestClientCredentials(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cc := clientcredentials.Config{ClientID: "svc", ClientSecret: svcSecret, TokenURL: e.url + "/oauth2/token", Scopes: []string{"accounts:read"}}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.verifier(t, "accounts").Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "svc" || c.ClientID != "svc" || c.Scope != "accounts:read" || c.Email != "" {
		t.Fatalf("claims %+v", c)
	}
	if d := time.Until(tok.Expiry); d < 14*time.Minute || d > 15*time.Minute+5*time.Second {
		t.Fatalf("lifetime %s, want 15m", d)
	}
	// client_secret_post works too.
	post := cc
	post.AuthStyle = oauth2.AuthStyleInParams
	if _, err := post.Token(ctx); err != nil {
		t.Fatalf("client_secret_post: %v", err)
	}

	for _, tt := range []struct {
		name string
		cfg  clientcredentials.Config
		want string
	}{
		{"wrong secret", clientcredentials.Config{ClientID: "svc", ClientSecret: "wrong-secret-0123456789", TokenURL: cc.TokenURL}, "invalid_client"},
		{"unknown client", clientcredentials.Config{ClientID: "nobody", ClientSecret: svcSecret, TokenURL: cc.TokenURL}, "invalid_client"},
		{"disallowed scope", clientcredentials.Config{ClientID: "svc", ClientSecret: svcSecret, TokenURL: cc.TokenURL, Scopes: []string{"admin"}}, "invalid_scope"},
		{"disallowed audience", clientcredentials.Config{ClientID: "svc", ClientSecret: svcSecret, TokenURL: cc.TokenURL,
			EndpointParams: url.Values{"audience": {"payments-prod"}}}, "invalid_target"},
		{"grant not allowed", clientcredentials.Config{ClientID: "cli", ClientSecret: cliSecret, TokenURL: cc.TokenURL}, "unauthorized_client"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.Token(ctx)
			if got := oauthErr(t, err); got != tt.want {
				t.Fatalf("error %s, want %s", got, tt.want)
			}
		})
	}
	if strings.Contains(e.logs.String(), svcSecret) || strings.Contains(e.logs.String(), tok.AccessToken) {
		t.Fatal("a secret or token reached the log")
	}
}

func TestPasswordGrantAndRefreshRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint(), Scopes: []string{"openid", "orders:read"}}
	tok, err := cfg.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.verifier(t, "orders").Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != e.alice.ID || c.Org != "acme" || !c.InGroup("admin") || !c.HasRole("admin") || c.Email != "alice@acme.test" {
		t.Fatalf("user claims missing: %+v", c)
	}
	if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Fatal("no refresh or ID token")
	}

	// Rotation: each use returns a new refresh token.
	first := tok.RefreshToken
	src := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: first})
	tok2, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == first || tok2.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	tok3, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	// Reuse of the first, whose successor was used (no retry, so no
	// grace): refused, and the family (tok3's refresh) is revoked.
	_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: first}).Token()
	if oauthErr(t, err) != "invalid_grant" {
		t.Fatalf("reuse: %v", err)
	}
	_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok3.RefreshToken}).Token()
	if oauthErr(t, err) != "invalid_grant" {
		t.Fatalf("family not revoked after reuse: %v", err)
	}
	if !strings.Contains(e.logs.String(), "refresh_reuse_detected") {
		t.Fatal("reuse not audited")
	}
}

func TestPasswordGrantRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint()}
	descs := map[string]string{}
	for _, tt := range []struct{ name, user, pass string }{
		{"wrong password", "alice", "wrong"},
		{"unknown user", "mallory", "wrong"},
		{"disabled user", "dave", alicePassword},
	} {
		_, err := cfg.PasswordCredentialsToken(ctx, tt.user, tt.pass)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("%s: %v", tt.name, err)
		}
		descs[tt.name] = re.ErrorDescription
	}
	if descs["wrong password"] != descs["unknown user"] || descs["unknown user"] != descs["disabled user"] {
		t.Fatalf("answers differ, enumerating users: %q", descs)
	}
	// Throttle: Free is 3; alice had 1 failure, two more lock her out.
	cfg.PasswordCredentialsToken(ctx, "alice", "wrong")
	cfg.PasswordCredentialsToken(ctx, "alice", "wrong")
	_, err := cfg.PasswordCredentialsToken(ctx, "alice", alicePassword)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusTooManyRequests || !strings.Contains(re.ErrorDescription, "try again") {
		t.Fatalf("throttle: %v", err)
	}
	// A client without the password grant.
	web := oauth2.Config{ClientID: "web", ClientSecret: webSecret, Endpoint: e.endpoint()}
	if _, err := web.PasswordCredentialsToken(ctx, "bob", alicePassword); oauthErr(t, err) != "unauthorized_client" {
		t.Fatalf("password grant for a client without it: %v", err)
	}
	if strings.Contains(e.logs.String(), alicePassword) {
		t.Fatal("password in the log")
	}
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// login drives the login page like a browser: GET the authorize URL, fill
// the form, POST it, and return the redirect Location.
func login(t testing.TB, authURL, username, password string) *url.URL {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if loc := resp.Header.Get("Location"); loc != "" {
			u, _ := url.Parse(loc)
			return u
		}
		t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	form := url.Values{"username": {username}, "password": {password}}
	for _, m := range hiddenField.FindAllStringSubmatch(string(body), -1) {
		form.Add(m[1], htmlUnescape(m[2]))
	}
	base, _ := url.Parse(authURL)
	resp, err = browser.PostForm(base.Scheme+"://"+base.Host+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login answered %d, want a redirect", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+").Replace(s)
}

// testHashCost makes the tests' password and secret hashes cheap: the
// default argon2id costs are for guessing, not for test runs.
var testHashCost = identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
