package authserver_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
)

const postLogout = "http://127.0.0.1:5173/signed-out"

// logoutEnv is an auth server whose spa client has a post-logout redirect
// URI, whose revocations go to a list a guard would use, and whose clock
// the test moves.
func logoutEnv(t *testing.T) (*env, *atomic.Int64, func(raw string) bool) {
	t.Helper()
	list := memoryList(t)
	var skew atomic.Int64
	e := newEnv(t, func(c *authserver.Config) {
		c.Revocations = list
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	ctx := context.Background()
	spa, err := e.store.ClientByID(ctx, "spa")
	if err != nil {
		t.Fatal(err)
	}
	spa.PostLogoutRedirectURIs = []string{postLogout}
	if err := e.store.PutClient(ctx, spa); err != nil {
		t.Fatal(err)
	}
	// What a guard sees: the published list.
	revoked := func(raw string) bool { return listRevokes(t, list, claimsOf(t, e, raw)) }
	return e, &skew, revoked
}

func TestRPInitiatedLogout(t *testing.T) {
	e, _, revoked := logoutEnv(t)
	ctx := context.Background()
	tok := spaTokens(t, e, "openid", "offline_access", "orders:read")
	other := spaTokens(t, e, "openid", "offline_access", "orders:read") // a second login of alice
	idToken, _ := tok.Extra("id_token").(string)
	at, id := claimsOf(t, e, tok.AccessToken), idTokenClaims(t, e, idToken)
	if at.SessionID == "" || at.SessionID != id.SessionID {
		t.Fatalf("sid of the access token %q and of the ID token %q: want one, equal", at.SessionID, id.SessionID)
	}
	if o := claimsOf(t, e, other.AccessToken); o.SessionID == at.SessionID {
		t.Fatal("two logins share a sid")
	}
	// A refresh stays in the session.
	cfg := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), RedirectURL: callback}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	renewed, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if s := claimsOf(t, e, renewed.AccessToken).SessionID; s != at.SessionID {
		t.Fatalf("refreshed access token sid %q, want %q", s, at.SessionID)
	}

	q := url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {postLogout}, "state": {"s-42"}}
	resp := request(t, e, "GET", "/oauth2/logout?"+q.Encode(), nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != postLogout+"?state=s-42" {
		t.Fatalf("logout: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for name, raw := range map[string]string{"access token": tok.AccessToken, "refreshed access token": renewed.AccessToken} {
		if !revoked(raw) {
			t.Errorf("%s of the ended session is not on the published deny list", name)
		}
		if introspect(t, e, raw) {
			t.Errorf("%s of the ended session is still active at introspection", name)
		}
		if resp := request(t, e, "GET", "/userinfo", nil, "Authorization", "Bearer "+raw); resp.StatusCode != 401 {
			t.Errorf("userinfo with the %s: %d, want 401", name, resp.StatusCode)
		}
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: renewed.RefreshToken}).Token(); oauthErr(t, err) != "invalid_grant" {
		t.Errorf("refresh token of the ended session: %v", err)
	}
	// The other login of the same user is untouched.
	if revoked(other.AccessToken) || !introspect(t, e, other.AccessToken) {
		t.Error("logout ended another session of the user")
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: other.RefreshToken}).Token(); err != nil {
		t.Errorf("refresh of the other session: %v", err)
	}
	// Logging out again with the same hint is harmless (POST this time).
	resp = request(t, e, "POST", "/oauth2/logout", url.Values{"id_token_hint": {idToken}, "client_id": {"spa"}})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("second logout: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(e.logs.String(), `"event":"session_ended"`) {
		t.Error("no session_ended audit event")
	}
}

func TestRPInitiatedLogoutRefusals(t *testing.T) {
	e, skew, revoked := logoutEnv(t)
	tok := spaTokens(t, e, "openid", "offline_access")
	idToken, _ := tok.Extra("id_token").(string)
	parts := strings.Split(idToken, ".")
	tampered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
	cases := []struct {
		name       string
		q          url.Values
		wantStatus int
	}{
		{"unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example/"}}, 400},
		{"registered URI with another suffix", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {postLogout + "/x"}}, 400},
		{"the redirect URI of the code flow", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {callback}}, 400},
		{"client_id that is not the hint's audience", url.Values{"id_token_hint": {idToken}, "client_id": {"web"}}, 400},
		{"forged signature", url.Values{"id_token_hint": {tampered}}, 400},
		{"an access token as hint", url.Values{"id_token_hint": {tok.AccessToken}}, 400},
		{"post_logout_redirect_uri without a client", url.Values{"post_logout_redirect_uri": {postLogout}}, 400},
		{"post_logout_redirect_uri of an unknown client", url.Values{"client_id": {"nobody"}, "post_logout_redirect_uri": {postLogout}}, 400},
		{"a parameter twice", url.Values{"id_token_hint": {idToken, idToken}}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := request(t, e, "GET", "/oauth2/logout?"+c.q.Encode(), nil)
			if resp.StatusCode != c.wantStatus || resp.Header.Get("Location") != "" {
				t.Errorf("status %d Location %q, want %d and no redirect", resp.StatusCode, resp.Header.Get("Location"), c.wantStatus)
			}
			if revoked(tok.AccessToken) {
				t.Fatal("a refused logout ended the session")
			}
		})
	}
	// client_id alone, with a registered URI: redirects, ends nothing.
	resp := request(t, e, "GET", "/oauth2/logout?"+url.Values{"client_id": {"spa"}, "post_logout_redirect_uri": {postLogout}}.Encode(), nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != postLogout || revoked(tok.AccessToken) {
		t.Errorf("client_id only: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// An expired ID token still ends its session (§2: the OP should accept
	// it), up to a day after it expired.
	skew.Store(int64(25 * time.Hour))
	if resp := request(t, e, "GET", "/oauth2/logout?"+url.Values{"id_token_hint": {idToken}}.Encode(), nil); resp.StatusCode != 400 {
		t.Errorf("ID token expired more than a day ago: %d, want 400", resp.StatusCode)
	}
	skew.Store(int64(2 * time.Hour))
	if resp := request(t, e, "GET", "/oauth2/logout?"+url.Values{"id_token_hint": {idToken}}.Encode(), nil); resp.StatusCode != 200 {
		t.Errorf("ID token expired two hours ago: %d, want 200", resp.StatusCode)
	}
	skew.Store(0)
	if !revoked(tok.AccessToken) {
		t.Error("logout with an expired ID token did not end the session")
	}
}

func TestDiscoveryListsLogoutAndEd25519(t *testing.T) {
	e := newEnv(t)
	resp := request(t, e, "GET", "/.well-known/openid-configuration", nil)
	var meta map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil {
		t.Fatal(err)
	}
	if meta["end_session_endpoint"] != e.url+"/oauth2/logout" {
		t.Errorf("end_session_endpoint %v", meta["end_session_endpoint"])
	}
	algs, _ := meta["token_endpoint_auth_signing_alg_values_supported"].([]any)
	var names []string
	for _, a := range algs {
		names = append(names, a.(string))
	}
	if got := strings.Join(names, " "); got != "ES256 EdDSA Ed25519 RS256 PS256" {
		t.Errorf("token_endpoint_auth_signing_alg_values_supported %q", got)
	}
}

// TestPrivateKeyJWTWithEd25519 signs client assertions with an Ed25519 key
// the way openid-client does: alg "Ed25519" (RFC 9864), and the classic
// "EdDSA"; a registered JWK may name either.
func TestPrivateKeyJWTWithEd25519(t *testing.T) {
	e := newEnv(t)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x := base64.RawURLEncoding.EncodeToString(pub)
	for id, jwkAlg := range map[string]string{"ed-none": "", "ed-eddsa": "EdDSA", "ed-ed25519": "Ed25519"} {
		jwk := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1"}
		if jwkAlg != "" {
			jwk["alg"] = jwkAlg
		}
		jwks, _ := json.Marshal(map[string]any{"keys": []any{jwk}})
		if err := e.store.CreateClient(context.Background(), &identity.Client{ID: id, JWKS: string(jwks),
			Grants: []string{identity.GrantClientCredentials}, Audiences: []string{"orders"}}); err != nil {
			t.Fatal(err)
		}
	}
	sign := func(id, alg string) string {
		now := time.Now()
		h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT", "kid": "k1"})
		c, _ := json.Marshal(token.Claims{Issuer: id, Subject: id, Audience: token.Audience{e.url},
			IssuedAt: token.At(now), ExpiresAt: token.At(now.Add(time.Minute)), ID: randomID(t)})
		in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
		return in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(in)))
	}
	cases := []struct {
		client, alg string
		want        int
	}{
		{"ed-none", "Ed25519", 200},
		{"ed-none", "EdDSA", 200},
		{"ed-eddsa", "Ed25519", 200},
		{"ed-ed25519", "Ed25519", 200},
		{"ed-ed25519", "EdDSA", 200},
		{"ed-ed25519", "ed25519", 400}, // names are case-sensitive (RFC 7515 §4.1.1)
		{"ed-ed25519", "ES256", 400},
		{"ed-ed25519", "Ed448", 400}, // invalid_client, without Basic: 400
	}
	for _, c := range cases {
		t.Run(c.client+" signs "+c.alg, func(t *testing.T) {
			resp := request(t, e, "POST", "/oauth2/token", assertionForm(sign(c.client, c.alg)))
			if resp.StatusCode != c.want {
				t.Errorf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}
}

// idTokenClaims verifies an ID token of e (typ JWT, aud spa).
func idTokenClaims(t testing.TB, e *env, raw string) *token.Claims {
	t.Helper()
	src, err := keys.NewRemoteFromIssuer(context.Background(), e.url)
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(src, e.url, "spa", token.WithTypes(token.TypeJWT), token.WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEndedSessionCannotRefresh: a session ended elsewhere (an entry
// received from the deny list, the family not revoked here) refreshes no
// more, and what it had is refused.
func TestEndedSessionCannotRefresh(t *testing.T) {
	list := memoryList(t)
	e := newEnv(t, func(c *authserver.Config) { c.Revocations = list })
	tok := spaTokens(t, e, "openid", "offline_access")
	sid := claimsOf(t, e, tok.AccessToken).SessionID
	if err := list.Add(context.Background(), revocation.BySession(sid, time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), RedirectURL: callback}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if _, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthErr(t, err) != "invalid_grant" {
		t.Fatalf("refresh of an ended session: %v", err)
	}
	if introspect(t, e, tok.AccessToken) {
		t.Fatal("the access token of an ended session is active")
	}
}
