package authserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

func TestCodeFlowWithPKCEAndOIDC(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, e.url)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	cfg := oauth2.Config{ClientID: "spa", Endpoint: provider.Endpoint(), RedirectURL: callback,
		Scopes: []string{oidc.ScopeOpenID, "profile", "email", "orders:read"}}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-456"))
	loc := login(t, authURL, "alice", alicePassword)
	if loc.Query().Get("state") != "state-123" || loc.Query().Get("iss") != e.url || !strings.HasPrefix(loc.String(), callback) {
		t.Fatalf("redirect %s", loc)
	}
	code := loc.Query().Get("code")
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "spa"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc ID token verification: %v", err)
	}
	if idt.Nonce != "nonce-456" || idt.Subject != e.alice.ID {
		t.Fatalf("ID token nonce %q sub %q", idt.Nonce, idt.Subject)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash: %v", err)
	}
	var claims struct {
		Email    string `json:"email"`
		AuthTime int64  `json:"auth_time"`
	}
	idt.Claims(&claims)
	if claims.Email != "alice@acme.test" || claims.AuthTime == 0 {
		t.Fatalf("ID token claims %+v", claims)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != e.alice.ID || info.Email != "alice@acme.test" {
		t.Fatalf("userinfo: %v %+v", err, info)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for a client with the refresh grant")
	}
	if _, err := e.verifier(t, "orders").Verify(ctx, tok.AccessToken); err != nil {
		t.Fatalf("resource server: %v", err)
	}

	// The code is single-use; a second use revokes what the first issued.
	_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if oauthErr(t, err) != "invalid_grant" {
		t.Fatalf("reused code: %v", err)
	}
	if active := introspect(t, e, tok.AccessToken); active {
		t.Fatal("access token of a reused code is still active")
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthErr(t, err) != "invalid_grant" {
		t.Fatalf("refresh token of a reused code: %v", err)
	}
}

func TestCodeFlowRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	spa := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), RedirectURL: callback, Scopes: []string{"openid"}}
	web := oauth2.Config{ClientID: "web", ClientSecret: webSecret, Endpoint: e.endpoint(), RedirectURL: callback, Scopes: []string{"openid"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	t.Run("missing PKCE on a public client", func(t *testing.T) {
		loc := login(t, spa.AuthCodeURL("s"), "alice", alicePassword)
		if loc.Query().Get("error") != "invalid_request" || loc.Query().Get("code") != "" || loc.Query().Get("state") != "s" {
			t.Fatalf("redirect %s", loc)
		}
	})
	t.Run("plain PKCE", func(t *testing.T) {
		loc := login(t, spa.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", strings.Repeat("a", 43)),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")), "alice", alicePassword)
		if loc.Query().Get("error") != "invalid_request" {
			t.Fatalf("redirect %s", loc)
		}
	})
	for _, tt := range []struct{ name, url string }{
		{"unregistered redirect_uri", strings.Replace(spa.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())),
			url.QueryEscape(callback), url.QueryEscape("https://evil.example/cb"), 1)},
		{"unknown client", strings.Replace(spa.AuthCodeURL("s"), "client_id=spa", "client_id=evil", 1)},
		{"redirect_uri with extra path", strings.Replace(spa.AuthCodeURL("s"), url.QueryEscape(callback), url.QueryEscape(callback+"/x"), 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirect.Get(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(string(body), "Cannot sign in") {
				t.Fatalf("got %d Location=%q, want an error page without redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("disallowed scope redirects with invalid_scope", func(t *testing.T) {
		cfg := spa
		cfg.Scopes = []string{"admin"}
		loc := login(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "alice", alicePassword)
		if loc.Query().Get("error") != "invalid_scope" {
			t.Fatalf("redirect %s", loc)
		}
	})
	t.Run("wrong code_verifier", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		loc := login(t, spa.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), "alice", alicePassword)
		_, err := spa.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if oauthErr(t, err) != "invalid_grant" {
			t.Fatal(err)
		}
	})
	t.Run("missing code_verifier", func(t *testing.T) {
		loc := login(t, spa.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "alice", alicePassword)
		if _, err := spa.Exchange(ctx, loc.Query().Get("code")); oauthErr(t, err) != "invalid_grant" {
			t.Fatal(err)
		}
	})
	t.Run("PKCE downgrade on a confidential client", func(t *testing.T) {
		loc := login(t, web.AuthCodeURL("s"), "alice", alicePassword)
		if _, err := web.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier())); oauthErr(t, err) != "invalid_grant" {
			t.Fatal(err)
		}
	})
	t.Run("code of another client", func(t *testing.T) {
		loc := login(t, web.AuthCodeURL("s"), "alice", alicePassword)
		other := web
		other.ClientID, other.ClientSecret = "cli", cliSecret
		if _, err := other.Exchange(ctx, loc.Query().Get("code")); oauthErr(t, err) == "" {
			t.Fatal("accepted")
		}
	})
	t.Run("confidential client without PKCE works", func(t *testing.T) {
		loc := login(t, web.AuthCodeURL("s"), "alice", alicePassword)
		if _, err := web.Exchange(ctx, loc.Query().Get("code")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong password re-renders the form", func(t *testing.T) {
		resp, err := http.Get(spa.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// A POST without the CSRF cookie is refused outright.
		resp, err = noRedirect.PostForm(e.url+"/login", url.Values{"client_id": {"spa"}, "username": {"alice"}, "password": {alicePassword}, "csrf": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("login without CSRF cookie: %d", resp.StatusCode)
		}
	})
}

func introspect(t testing.TB, e *env, tok string) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/oauth2/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", svcSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Active bool `json:"active"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("introspect: %d %v", resp.StatusCode, err)
	}
	return out.Active
}

func post(t testing.TB, e *env, path string, form url.Values, user, pass string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestTokenExchangeWithActChain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	user := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint(), Scopes: []string{"orders:read"}}
	tok, err := user.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	// The user's token must be for svc to be exchanged by svc.
	status, out := post(t, e, "/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token": {tok.AccessToken}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {"pay"}}, "svc", svcSecret)
	if status != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("exchange of a token not meant for svc: %d %v", status, out)
	}
	status, out = post(t, e, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"},
		"password": {alicePassword}, "scope": {"orders:read"}, "audience": {"svc"}}, "cli", cliSecret)
	if status != 200 {
		t.Fatalf("password grant for audience svc: %d %v", status, out)
	}
	tok = &oauth2.Token{AccessToken: out["access_token"].(string)}
	exchange := func(client, secret, subject, aud, scope string) (int, map[string]any) {
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {subject},
			"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {aud}}
		if scope != "" {
			form.Set("scope", scope)
		}
		return post(t, e, "/oauth2/token", form, client, secret)
	}
	status, out = exchange("svc", svcSecret, tok.AccessToken, "pay", "orders:read")
	if status != 200 || out["issued_token_type"] != "urn:ietf:params:oauth:token-type:access_token" {
		t.Fatalf("exchange: %d %v", status, out)
	}
	forPay := out["access_token"].(string)
	status, out = exchange("pay", paySecret, forPay, "ledger", "")
	if status != 200 {
		t.Fatalf("second exchange: %d %v", status, out)
	}
	c, err := e.verifier(t, "ledger").Verify(ctx, out["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != e.alice.ID || c.Actor == nil || c.Actor.Subject != "pay" || c.Actor.Actor == nil || c.Actor.Actor.Subject != "svc" || c.Scope != "orders:read" {
		t.Fatalf("exchanged claims: %+v act=%+v", c, c.Actor)
	}
	if c.Org != "acme" || !c.InGroup("admin") {
		t.Fatal("user claims lost in exchange")
	}
	for _, tt := range []struct{ name, aud, scope, want string }{
		{"audience not allowed", "ledger", "", "invalid_target"},
		{"scope not held", "pay", "accounts:read", "invalid_scope"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, out := exchange("svc", svcSecret, tok.AccessToken, tt.aud, tt.scope)
			if status != 400 || out["error"] != tt.want {
				t.Fatalf("%d %v", status, out)
			}
		})
	}
	t.Run("garbage subject token", func(t *testing.T) {
		status, out := exchange("svc", svcSecret, "a.b.c", "pay", "")
		if status != 400 || out["error"] != "invalid_grant" {
			t.Fatalf("%d %v", status, out)
		}
	})
}

func TestLegacySessionExchange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	form := func(session string) url.Values {
		return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {session},
			"subject_token_type": {"urn:legacy:session"}, "audience": {"accounts"}}
	}
	status, out := post(t, e, "/oauth2/token", form("legacy-session-alice"), "svc", svcSecret)
	if status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	c, err := e.verifier(t, "accounts").Verify(ctx, out["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != e.alice.ID || c.Org != "acme" || c.Actor.Subject != "svc" {
		t.Fatalf("claims %+v", c)
	}
	status, out = post(t, e, "/oauth2/token", form("expired-session"), "svc", svcSecret)
	if status != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("inactive session: %d %v", status, out)
	}
}

func TestIntrospectionAndRevocation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint(), Scopes: []string{"orders:read"}}
	tok, err := cfg.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	if !introspect(t, e, tok.AccessToken) || !introspect(t, e, tok.RefreshToken) {
		t.Fatal("fresh tokens inactive")
	}
	if status, _ := post(t, e, "/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, "", ""); status != 400 {
		t.Fatalf("introspection without client auth: %d, want 400 invalid_client (no Basic to challenge)", status)
	}
	// Another client cannot revoke cli's token (ignored with 200).
	if status, _ := post(t, e, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "svc", svcSecret); status != 200 {
		t.Fatalf("revoke by another client: %d", status)
	}
	if !introspect(t, e, tok.AccessToken) {
		t.Fatal("another client revoked the token")
	}
	if status, _ := post(t, e, "/oauth2/revoke", url.Values{"token": {tok.AccessToken}}, "cli", cliSecret); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	if introspect(t, e, tok.AccessToken) {
		t.Fatal("revoked access token still active")
	}
	if status, _ := post(t, e, "/oauth2/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, "cli", cliSecret); status != 200 {
		t.Fatalf("revoke refresh: %d", status)
	}
	if introspect(t, e, tok.RefreshToken) {
		t.Fatal("revoked refresh token still active")
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthErr(t, err) != "invalid_grant" {
		t.Fatal("revoked refresh token still refreshes")
	}
	// A revocation made through another instance on the same store is seen
	// after a reload.
	other := startOn(t, e.store)
	if other.srv.Reload(ctx) != nil {
		t.Fatal("reload")
	}
	if introspect(t, other, tok.AccessToken) {
		t.Fatal("second instance does not see the revocation")
	}
}

func TestMalformedRequestsGetOAuthErrors(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
	}{
		{"JSON body", `{"grant_type":"client_credentials"}`, "application/json", 400, "invalid_request"},
		{"no grant_type", "scope=a", "application/x-www-form-urlencoded", 400, "invalid_request"},
		{"unknown grant_type", "grant_type=magic", "application/x-www-form-urlencoded", 400, "unsupported_grant_type"},
		{"repeated parameter", "grant_type=client_credentials&grant_type=password", "application/x-www-form-urlencoded", 400, "invalid_request"},
		{"bad percent-encoding", "grant_type=%zz", "application/x-www-form-urlencoded", 400, "invalid_request"},
		{"huge body", "grant_type=client_credentials&scope=" + strings.Repeat("a", 100<<10), "application/x-www-form-urlencoded", 413, "invalid_request"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.url+"/oauth2/token", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			req.SetBasicAuth("svc", svcSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]string
			json.NewDecoder(resp.Body).Decode(&out)
			if resp.StatusCode != tt.status || out["error"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, out, tt.status, tt.code)
			}
		})
	}
}

func TestKeyRotationKeepsOldTokensValid(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := newEnv(t, func(c *authserver.Config) { c.Now = clock; c.RotateEvery = time.Hour; c.KeyReload = time.Second })
	ctx := context.Background()
	cc := clientcredentials.Config{ClientID: "svc", ClientSecret: svcSecret, TokenURL: e.url + "/oauth2/token"}
	before, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A resource server that refetches the JWKS at most every 50ms.
	src, err := keys.NewRemoteFromIssuer(ctx, e.url, keys.WithRefetchInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(src, e.url, "accounts", token.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, before.AccessToken); err != nil {
		t.Fatal(err)
	}
	oldKid := e.srv.SigningKey().ID()
	mu.Lock()
	now = now.Add(61 * time.Minute) // the key is older than RotateEvery
	mu.Unlock()
	if _, err := cc.Token(ctx); err != nil { // this request triggers the reload and the rotation
		t.Fatal(err)
	}
	// The new key is published ahead (KeyReload 1s + the JWKS max-age 5m +
	// 30s); the old one signs until then.
	mid, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hdr, _, _ := token.ParseUnverified(mid.AccessToken); !strings.Contains(string(hdr), oldKid) {
		t.Fatal("a token was signed with the new key before its SignFrom")
	}
	mu.Lock()
	now = now.Add(5*time.Minute + 32*time.Second) // past the new key's SignFrom
	mu.Unlock()
	after, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond) // let the refetch interval pass
	hdr, _, _ := token.ParseUnverified(after.AccessToken)
	if strings.Contains(string(hdr), oldKid) || e.srv.SigningKey().ID() == oldKid {
		t.Fatal("no rotation after RotateEvery")
	}
	// A resource server with the JWKS picks up the new kid, and the old key
	// is still published for the token signed before.
	if _, err := v.Verify(ctx, after.AccessToken); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	resp, err := http.Get(e.url + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), oldKid) {
		t.Fatal("old key left the JWKS before its tokens expired")
	}
	if strings.Contains(string(body), `"d"`) {
		t.Fatal("private key material in the JWKS")
	}
}
