package authserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/token"
)

// denied reports whether the deny list that the gateway and the guards of
// the process check refuses raw (a token the test obtained).
func denied(t *testing.T, e *env, raw string) bool {
	t.Helper()
	_, payload, err := token.ParseUnverified(raw)
	if err != nil {
		t.Fatal(err)
	}
	var c token.Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	revoked, err := e.srv.DenyList().Revoked(context.Background(), &c)
	if err != nil {
		t.Fatal(err)
	}
	return revoked
}

// exchange trades subject (whose aud holds svc) for a token of svc for
// audience accounts.
func exchange(t *testing.T, e *env, subject string) string {
	t.Helper()
	status, body := post(t, e, "/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token": {subject}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {"accounts"}}, "svc", svcSecret)
	raw, _ := body["access_token"].(string)
	if status != http.StatusOK || raw == "" {
		t.Fatalf("token exchange: %d %v", status, body)
	}
	return raw
}

// svcLogin is alice's password grant at cli for audience svc (which may
// then exchange its access tokens).
func svcLogin(t *testing.T, e *env) *oauth2.Token {
	t.Helper()
	status, body := post(t, e, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword},
		"scope": {"orders:read"}, "audience": {"svc"}}, "cli", cliSecret)
	at, _ := body["access_token"].(string)
	rt, _ := body["refresh_token"].(string)
	if status != http.StatusOK || at == "" || rt == "" {
		t.Fatalf("password grant: %d %v", status, body)
	}
	return &oauth2.Token{AccessToken: at, RefreshToken: rt}
}

// allRevoked fails unless every token named is refused by introspection
// and by the deny list; alive the same for tokens that must stay valid.
func allRevoked(t *testing.T, e *env, revoked, alive map[string]string) {
	t.Helper()
	for name, raw := range revoked {
		if introspect(t, e, raw) || !denied(t, e, raw) {
			t.Errorf("%s is still valid", name)
		}
	}
	for name, raw := range alive {
		if !introspect(t, e, raw) || denied(t, e, raw) {
			t.Errorf("%s, of another grant, was revoked too", name)
		}
	}
}

// TestRefreshReuseRevokesTheAccessTokens is item 6 of issue #13: a reused
// refresh token revoked its family but left the access tokens issued
// under it valid, the newest one (in a thief's hands) included. Now every
// access token of the family goes, also one made from them by token
// exchange (RFC 9700 §4.14.2).
func TestRefreshReuseRevokesTheAccessTokens(t *testing.T) {
	e := newEnv(t, func(c *authserver.Config) { c.RefreshTokenGrace = -1 })
	ctx := context.Background()
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint(), Scopes: []string{"orders:read"}}
	login := svcLogin(t, e)
	other, err := cfg.PasswordCredentialsToken(ctx, "alice", alicePassword) // another login: another grant
	if err != nil {
		t.Fatal(err)
	}
	// The thief refreshes with the stolen refresh token first, and a
	// service exchanges the newest access token.
	stolen, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: login.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	exchanged := exchange(t, e, stolen.AccessToken)
	tokens := map[string]string{"the first access token": login.AccessToken, "the thief's access token": stolen.AccessToken,
		"the exchanged token": exchanged}
	for name, raw := range tokens {
		if !introspect(t, e, raw) {
			t.Fatalf("%s is inactive before the reuse", name)
		}
	}
	// The client comes back with the token the thief already used.
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: login.RefreshToken}).Token(); oauthErr(t, err) != "invalid_grant" {
		t.Fatalf("reuse: %v", err)
	}
	allRevoked(t, e, tokens, map[string]string{"the other login's access token": other.AccessToken})
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: stolen.RefreshToken}).Token(); oauthErr(t, err) != "invalid_grant" {
		t.Fatalf("the thief's refresh token after the reuse: %v", err)
	}
}

// TestRevokingARefreshTokenRevokesItsAccessTokens is item 7 of issue #13:
// RFC 7009 §2.1, the access tokens of the same grant go with a revoked
// refresh token. Another client cannot revoke it.
func TestRevokingARefreshTokenRevokesItsAccessTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := oauth2.Config{ClientID: "cli", ClientSecret: cliSecret, Endpoint: e.endpoint(), Scopes: []string{"orders:read"}}
	login := svcLogin(t, e)
	other, err := cfg.PasswordCredentialsToken(ctx, "alice", alicePassword)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: login.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	exchanged := exchange(t, e, renewed.AccessToken)
	tokens := map[string]string{"the first access token": login.AccessToken, "the renewed access token": renewed.AccessToken,
		"the exchanged token": exchanged}

	// Another client's attempt is ignored (200, RFC 7009 §2.2): nothing revoked.
	if status, _ := post(t, e, "/oauth2/revoke", url.Values{"token": {renewed.RefreshToken}}, "web", webSecret); status != http.StatusOK {
		t.Fatalf("revoke by another client: %d", status)
	}
	allRevoked(t, e, nil, tokens)

	if status, body := post(t, e, "/oauth2/revoke", url.Values{"token": {renewed.RefreshToken}, "token_type_hint": {"refresh_token"}}, "cli", cliSecret); status != http.StatusOK {
		t.Fatalf("revoke: %d %v", status, body)
	}
	allRevoked(t, e, tokens, map[string]string{"the other login's access token": other.AccessToken})
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: renewed.RefreshToken}).Token(); oauthErr(t, err) != "invalid_grant" {
		t.Fatalf("the revoked refresh token: %v", err)
	}
}

// TestCodeReplayRevokesRenewedTokens: a code used twice revoked the first
// access token by jti only; a token refreshed in between stayed valid.
// Now the second redemption revokes the grant by its sid.
func TestCodeReplayRevokesRenewedTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cfg := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), RedirectURL: callback, Scopes: []string{"openid", "orders:read"}}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	verifier := oauth2.GenerateVerifier()
	code := login(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), "alice", alicePassword).Query().Get("code")
	first, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); oauthErr(t, err) != "invalid_grant" {
		t.Fatalf("code used twice: %v", err)
	}
	allRevoked(t, e, map[string]string{"the first access token": first.AccessToken, "the renewed access token": renewed.AccessToken}, nil)
}
