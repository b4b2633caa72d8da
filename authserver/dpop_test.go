package authserver_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/dpop/redisreplay"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// dpopAnswer is a token endpoint (or userinfo) dpopAnswer.
type dpopAnswer struct {
	status int
	body   map[string]any
	header http.Header
}

func (a dpopAnswer) str(k string) string { s, _ := a.body[k].(string); return s }

// dpopPost posts form to path with Basic credentials (user "" for none)
// and each proof in a DPoP header of its own.
func dpopPost(t testing.TB, e *env, path string, form url.Values, user, pass string, proofs ...string) dpopAnswer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return doDPoP(t, req)
}

func doDPoP(t testing.TB, req *http.Request) dpopAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	json.NewDecoder(resp.Body).Decode(&out)
	return dpopAnswer{resp.StatusCode, out, resp.Header}
}

func newSigner(t testing.TB) *dpop.Signer {
	t.Helper()
	s, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func proof(t testing.TB, s *dpop.Signer, method, u, accessToken, nonce string) string {
	t.Helper()
	p, err := s.Proof(method, u, accessToken, nonce)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// crafted signs a proof as an attacker would: any algorithm, key and typ.
func crafted(t testing.TB, alg jose.SignatureAlgorithm, key any, typ, htu string, embed bool) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{EmbedJWK: embed}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(map[string]any{"jti": rand.Text(), "htm": "POST", "htu": htu, "iat": time.Now().Unix()})
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// jktOf verifies an access token as a resource server would and returns
// its cnf.jkt.
func jktOf(t testing.TB, e *env, aud, raw string) string {
	t.Helper()
	c, err := e.verifier(t, aud).Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("verify the access token: %v", err)
	}
	if c.Confirmation == nil {
		return ""
	}
	return c.Confirmation.JKT
}

var ccForm = url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts:read"}}

// A proof at the token endpoint binds the access token: token_type DPoP,
// cnf.jkt of the proof's key, in the token and in introspection (RFC 9449
// §5, §6); without one the token is a plain bearer token as before.
func TestDPoPBindsTheAccessToken(t *testing.T) {
	e := newEnv(t)
	s := newSigner(t)
	a := dpopPost(t, e, "/oauth2/token", ccForm, "svc", svcSecret, proof(t, s, "POST", e.url+"/oauth2/token", "", ""))
	if a.status != 200 || a.str("token_type") != "DPoP" {
		t.Fatalf("token request with a proof: %d %v", a.status, a.body)
	}
	if got := jktOf(t, e, "accounts", a.str("access_token")); got != s.JKT() {
		t.Fatalf("cnf.jkt = %q, want the proof's key %q", got, s.JKT())
	}
	in := dpopPost(t, e, "/oauth2/introspect", url.Values{"token": {a.str("access_token")}}, "svc", svcSecret)
	cnf, _ := in.body["cnf"].(map[string]any)
	if in.str("token_type") != "DPoP" || cnf["jkt"] != s.JKT() {
		t.Fatalf("introspection: %v", in.body)
	}
	plain := dpopPost(t, e, "/oauth2/token", ccForm, "svc", svcSecret)
	if plain.status != 200 || plain.str("token_type") != "Bearer" || jktOf(t, e, "accounts", plain.str("access_token")) != "" {
		t.Fatalf("token request without a proof: %d %v", plain.status, plain.body)
	}
	in = dpopPost(t, e, "/oauth2/introspect", url.Values{"token": {plain.str("access_token")}}, "svc", svcSecret)
	if _, has := in.body["cnf"]; has || in.str("token_type") != "Bearer" {
		t.Fatalf("introspection of a bearer token: %v", in.body)
	}
}

// Every theft and replay of a proof at the token endpoint is refused with
// 400 invalid_dpop_proof, and issues nothing.
func TestDPoPTokenEndpointRefusals(t *testing.T) {
	e := newEnv(t)
	s := newSigner(t)
	tokenURL := e.url + "/oauth2/token"
	reused := proof(t, s, "POST", tokenURL, "", "")
	if a := dpopPost(t, e, "/oauth2/token", ccForm, "svc", svcSecret, reused); a.status != 200 {
		t.Fatalf("first use: %d %v", a.status, a.body)
	}
	old, _ := s.ProofAt("POST", tokenURL, "", "", time.Now().Add(-2*time.Minute))
	future, _ := s.ProofAt("POST", tokenURL, "", "", time.Now().Add(time.Minute))
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name   string
		proofs []string
	}{
		{"proof reused (same jti)", []string{reused}},
		{"proof for another URL", []string{proof(t, s, "POST", e.url+"/oauth2/introspect", "", "")}},
		{"proof for another server", []string{proof(t, s, "POST", "https://other.example/oauth2/token", "", "")}},
		{"proof for another method", []string{proof(t, s, "GET", tokenURL, "", "")}},
		{"proof too old", []string{old}},
		{"proof from the future", []string{future}},
		{"proof with ath (made for a resource)", []string{proof(t, s, "POST", tokenURL, "some-access-token", "")}},
		{"HS256", []string{crafted(t, jose.HS256, []byte(strings.Repeat("k", 32)), "dpop+jwt", tokenURL, false)}},
		{"none", []string{"eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6Im5vbmUifQ." + strings.Split(reused, ".")[1] + "."}},
		{"typ JWT", []string{crafted(t, jose.ES256, ec, "JWT", tokenURL, true)}},
		{"no jwk", []string{crafted(t, jose.ES256, ec, "dpop+jwt", tokenURL, false)}},
		{"two DPoP headers", []string{proof(t, s, "POST", tokenURL, "", ""), proof(t, s, "POST", tokenURL, "", "")}},
		{"garbage", []string{"not-a-proof"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := dpopPost(t, e, "/oauth2/token", ccForm, "svc", svcSecret, tc.proofs...)
			if a.status != 400 || a.str("error") != "invalid_dpop_proof" || a.str("access_token") != "" {
				t.Fatalf("dpopAnswer %d %v, want 400 invalid_dpop_proof", a.status, a.body)
			}
			for _, p := range tc.proofs {
				if len(p) > 20 && strings.Contains(a.str("error_description"), p[:20]) {
					t.Fatal("the error quotes the proof")
				}
			}
		})
	}
}

// A client registered with dpop_bound_access_tokens must send a proof
// (RFC 9449 §5.2).
func TestDPoPBoundClientNeedsAProof(t *testing.T) {
	e := newEnv(t)
	if err := e.store.CreateClient(context.Background(), &identity.Client{ID: "bound", SecretHash: mustHash(t, svcSecret),
		Grants: []string{identity.GrantClientCredentials}, Scopes: []string{"accounts:read"}, Audiences: []string{"accounts"}, DPoPBoundTokens: true}); err != nil {
		t.Fatal(err)
	}
	if a := dpopPost(t, e, "/oauth2/token", ccForm, "bound", svcSecret); a.status != 400 || a.str("error") != "invalid_dpop_proof" {
		t.Fatalf("without a proof: %d %v", a.status, a.body)
	}
	s := newSigner(t)
	if a := dpopPost(t, e, "/oauth2/token", ccForm, "bound", svcSecret, proof(t, s, "POST", e.url+"/oauth2/token", "", "")); a.status != 200 || a.str("token_type") != "DPoP" {
		t.Fatalf("with a proof: %d %v", a.status, a.body)
	}
}

// With nonces on, a proof without the server nonce is answered
// use_dpop_nonce with the nonce in DPoP-Nonce; signed again with it, the
// request succeeds (RFC 9449 §8). Two instances with the same secret agree.
func TestDPoPNonce(t *testing.T) {
	secret := []byte(strings.Repeat("n", 32))
	nonces := func(c *authserver.Config) { c.DPoP = authserver.DPoPConfig{Nonce: true, NonceSecret: secret} }
	e := newEnv(t, nonces)
	other := startOn(t, e.store, nonces)
	s := newSigner(t)
	tokenURL := e.url + "/oauth2/token"
	a := dpopPost(t, e, "/oauth2/token", ccForm, "svc", svcSecret, proof(t, s, "POST", tokenURL, "", ""))
	nonce := a.header.Get("DPoP-Nonce")
	if a.status != 400 || a.str("error") != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("without a nonce: %d %v %q", a.status, a.body, nonce)
	}
	if a := dpopPost(t, e, "/oauth2/token", ccForm, "svc", svcSecret, proof(t, s, "POST", tokenURL, "", "stale-nonce")); a.status != 400 || a.str("error") != "use_dpop_nonce" {
		t.Fatalf("with a wrong nonce: %d %v", a.status, a.body)
	}
	a = dpopPost(t, e, "/oauth2/token", ccForm, "svc", svcSecret, proof(t, s, "POST", tokenURL, "", nonce))
	if a.status != 200 || a.str("token_type") != "DPoP" {
		t.Fatalf("with the nonce: %d %v", a.status, a.body)
	}
	a = dpopPost(t, other, "/oauth2/token", ccForm, "svc", svcSecret, proof(t, s, "POST", other.url+"/oauth2/token", "", nonce))
	if a.status != 200 {
		t.Fatalf("the nonce at another instance: %d %v", a.status, a.body)
	}
}

// spaCode runs alice's login for the spa client and returns the code and
// the PKCE verifier; extra are more authorization request parameters.
func spaCode(t *testing.T, e *env, extra ...oauth2.AuthCodeOption) (string, string) {
	t.Helper()
	cfg := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), RedirectURL: callback, Scopes: []string{"openid", "offline_access", "orders:read"}}
	verifier := oauth2.GenerateVerifier()
	loc := login(t, cfg.AuthCodeURL("st", append(extra, oauth2.S256ChallengeOption(verifier))...), "alice", alicePassword)
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %s", loc)
	}
	return code, verifier
}

func codeForm(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "client_id": {"spa"}, "redirect_uri": {callback}}
}

// A public client's refresh token is bound to the key of the proof it
// was issued with (RFC 9449 §5): a refresh with another key or without a
// proof is invalid_grant; with the key it works, and stays bound.
func TestDPoPPublicClientRefreshIsBound(t *testing.T) {
	e := newEnv(t)
	s, thief := newSigner(t), newSigner(t)
	tokenURL := e.url + "/oauth2/token"
	code, verifier := spaCode(t, e)
	a := dpopPost(t, e, "/oauth2/token", codeForm(code, verifier), "", "", proof(t, s, "POST", tokenURL, "", ""))
	if a.status != 200 || a.str("token_type") != "DPoP" || a.str("refresh_token") == "" {
		t.Fatalf("code redemption: %d %v", a.status, a.body)
	}
	if got := jktOf(t, e, "orders", a.str("access_token")); got != s.JKT() {
		t.Fatalf("cnf.jkt %q", got)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {a.str("refresh_token")}, "client_id": {"spa"}}
	if b := dpopPost(t, e, "/oauth2/token", refresh, "", "", proof(t, thief, "POST", tokenURL, "", "")); b.status != 400 || b.str("error") != "invalid_grant" {
		t.Fatalf("refresh with another key: %d %v", b.status, b.body)
	}
	if b := dpopPost(t, e, "/oauth2/token", refresh, "", ""); b.status != 400 || b.str("error") != "invalid_grant" {
		t.Fatalf("refresh without a proof: %d %v", b.status, b.body)
	}
	b := dpopPost(t, e, "/oauth2/token", refresh, "", "", proof(t, s, "POST", tokenURL, "", ""))
	if b.status != 200 || b.str("token_type") != "DPoP" || jktOf(t, e, "orders", b.str("access_token")) != s.JKT() {
		t.Fatalf("refresh with the key: %d %v", b.status, b.body)
	}
	// The rotated refresh token is bound too.
	refresh.Set("refresh_token", b.str("refresh_token"))
	if c := dpopPost(t, e, "/oauth2/token", refresh, "", "", proof(t, thief, "POST", tokenURL, "", "")); c.status != 400 || c.str("error") != "invalid_grant" {
		t.Fatalf("rotated token with another key: %d %v", c.status, c.body)
	}
}

// dpop_jkt in the authorization request binds the code (RFC 9449 §10): a
// redemption with a proof of another key, or none, is invalid_grant.
func TestDPoPJKTBindsTheCode(t *testing.T) {
	e := newEnv(t)
	s, thief := newSigner(t), newSigner(t)
	tokenURL := e.url + "/oauth2/token"
	bind := oauth2.SetAuthURLParam("dpop_jkt", s.JKT())
	code, verifier := spaCode(t, e, bind)
	if a := dpopPost(t, e, "/oauth2/token", codeForm(code, verifier), "", "", proof(t, thief, "POST", tokenURL, "", "")); a.status != 400 || a.str("error") != "invalid_grant" {
		t.Fatalf("code with another key: %d %v", a.status, a.body)
	}
	code, verifier = spaCode(t, e, bind)
	if a := dpopPost(t, e, "/oauth2/token", codeForm(code, verifier), "", ""); a.status != 400 || a.str("error") != "invalid_grant" {
		t.Fatalf("code without a proof: %d %v", a.status, a.body)
	}
	code, verifier = spaCode(t, e, bind)
	if a := dpopPost(t, e, "/oauth2/token", codeForm(code, verifier), "", "", proof(t, s, "POST", tokenURL, "", "")); a.status != 200 || a.str("token_type") != "DPoP" {
		t.Fatalf("code with its key: %d %v", a.status, a.body)
	}
	// A dpop_jkt that is no thumbprint is refused at the authorization endpoint.
	cfg := oauth2.Config{ClientID: "spa", Endpoint: e.endpoint(), RedirectURL: callback, Scopes: []string{"openid"}}
	loc := login(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("dpop_jkt", "short")), "alice", alicePassword)
	if loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("bad dpop_jkt: %s", loc)
	}
}

// Every grant that issues access tokens binds them to the proof's key.
func TestDPoPEveryGrant(t *testing.T) {
	e := newEnv(t)
	s := newSigner(t)
	tokenURL := e.url + "/oauth2/token"
	pw := dpopPost(t, e, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword},
		"scope": {"openid orders:read"}, "audience": {"svc"}}, "cli", cliSecret, proof(t, s, "POST", tokenURL, "", ""))
	if pw.status != 200 || pw.str("token_type") != "DPoP" || jktOf(t, e, "svc", pw.str("access_token")) != s.JKT() {
		t.Fatalf("password grant: %d %v", pw.status, pw.body)
	}
	// A confidential client's refresh token is not bound to the key: its
	// authentication binds it (RFC 9449 §5); the new access token is bound
	// to the key of this request's proof.
	other := newSigner(t)
	rf := dpopPost(t, e, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pw.str("refresh_token")}}, "cli", cliSecret,
		proof(t, other, "POST", tokenURL, "", ""))
	if rf.status != 200 || rf.str("token_type") != "DPoP" || jktOf(t, e, "svc", rf.str("access_token")) != other.JKT() {
		t.Fatalf("refresh grant: %d %v", rf.status, rf.body)
	}
	ex := dpopPost(t, e, "/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token": {pw.str("access_token")}, "subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}, "audience": {"accounts"}},
		"svc", svcSecret, proof(t, s, "POST", tokenURL, "", ""))
	if ex.status != 200 || ex.str("token_type") != "DPoP" || jktOf(t, e, "accounts", ex.str("access_token")) != s.JKT() {
		t.Fatalf("token exchange: %d %v", ex.status, ex.body)
	}
}

// userinfo takes a DPoP-bound token only with the DPoP scheme and a proof
// of its key for this request (RFC 9449 §7): as Bearer, without a proof,
// with a proof for another URL, another token or a replayed one, it is
// refused with the DPoP challenge.
func TestDPoPUserinfo(t *testing.T) {
	e := newEnv(t)
	s, thief := newSigner(t), newSigner(t)
	a := dpopPost(t, e, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword},
		"scope": {"openid"}}, "cli", cliSecret, proof(t, s, "POST", e.url+"/oauth2/token", "", ""))
	at := a.str("access_token")
	if a.status != 200 || at == "" {
		t.Fatalf("token: %d %v", a.status, a.body)
	}
	info := e.url + "/userinfo"
	get := func(authz string, proofs ...string) dpopAnswer {
		req, _ := http.NewRequest(http.MethodGet, info, nil)
		req.Header.Set("Authorization", authz)
		for _, p := range proofs {
			req.Header.Add("DPoP", p)
		}
		return doDPoP(t, req)
	}
	replayed := proof(t, s, "GET", info, at, "")
	if ok := get("DPoP "+at, replayed); ok.status != 200 || ok.str("sub") != e.alice.ID {
		t.Fatalf("with the DPoP scheme and a proof: %d %v", ok.status, ok.body)
	}
	for _, tc := range []struct {
		name, authz string
		proofs      []string
		code        string
	}{
		{"as Bearer", "Bearer " + at, nil, "invalid_token"},
		{"as Bearer with a proof", "Bearer " + at, []string{proof(t, s, "GET", info, at, "")}, "invalid_token"},
		{"no proof", "DPoP " + at, nil, "invalid_dpop_proof"},
		{"proof replayed", "DPoP " + at, []string{replayed}, "invalid_dpop_proof"},
		{"proof for another URL", "DPoP " + at, []string{proof(t, s, "GET", e.url+"/oauth2/token", at, "")}, "invalid_dpop_proof"},
		{"proof for another method", "DPoP " + at, []string{proof(t, s, "POST", info, at, "")}, "invalid_dpop_proof"},
		{"proof with a mismatched ath", "DPoP " + at, []string{proof(t, s, "GET", info, "another-token", "")}, "invalid_dpop_proof"},
		{"proof of another key", "DPoP " + at, []string{proof(t, thief, "GET", info, at, "")}, "invalid_dpop_proof"},
		{"two proofs", "DPoP " + at, []string{proof(t, s, "GET", info, at, ""), proof(t, s, "GET", info, at, "")}, "invalid_dpop_proof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := get(tc.authz, tc.proofs...)
			challenge := got.header.Get("WWW-Authenticate")
			if got.status != 401 || got.str("error") != tc.code || !strings.HasPrefix(challenge, `DPoP error="`+tc.code+`"`) || !strings.Contains(challenge, "algs=") {
				t.Fatalf("dpopAnswer %d %v, WWW-Authenticate %q; want 401 %s with the DPoP challenge", got.status, got.body, challenge, tc.code)
			}
		})
	}
	// A bearer token with the DPoP scheme is refused; as Bearer it works.
	plain := dpopPost(t, e, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword},
		"scope": {"openid"}}, "cli", cliSecret)
	bt := plain.str("access_token")
	if got := get("DPoP "+bt, proof(t, s, "GET", info, bt, "")); got.status != 401 || got.str("error") != "invalid_token" {
		t.Fatalf("bearer token with the DPoP scheme: %d %v", got.status, got.body)
	}
	if got := get("Bearer " + bt); got.status != 200 {
		t.Fatalf("bearer token as Bearer: %d %v", got.status, got.body)
	}
	// No credentials: both challenges.
	req, _ := http.NewRequest(http.MethodGet, info, nil)
	if got := doDPoP(t, req); got.status != 401 || len(got.header.Values("WWW-Authenticate")) != 2 || !strings.HasPrefix(got.header.Values("WWW-Authenticate")[1], "DPoP algs=") {
		t.Fatalf("no credentials: %d %v", got.status, got.header.Values("WWW-Authenticate"))
	}
}

func TestDiscoveryListsDPoPAlgorithms(t *testing.T) {
	e := newEnv(t)
	resp := request(t, e, http.MethodGet, "/.well-known/openid-configuration", nil)
	var meta struct {
		Algs []string `json:"dpop_signing_alg_values_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&meta); err != nil || len(meta.Algs) == 0 {
		t.Fatalf("dpop_signing_alg_values_supported: %v %v", meta.Algs, err)
	}
	for _, a := range meta.Algs {
		if strings.HasPrefix(a, "HS") || a == "none" {
			t.Fatalf("discovery lists %s", a)
		}
	}
}

// Two instances on one Redis replay cache: a proof accepted by one is
// refused by the other.
func TestDPoPReplayAcrossInstances(t *testing.T) {
	prefix := redistest.Prefix(t)
	shared := func(name string) func(*authserver.Config) {
		rc, err := redisreplay.New(redistest.Client(t, name), redisreplay.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		return func(c *authserver.Config) { c.DPoP.Replay = rc }
	}
	a := newEnv(t, shared("dpop-as-a"))
	// The second instance answers on another address: the proof names the
	// first's URL, so the issuer of both is the first's.
	b := startOn(t, a.store, shared("dpop-as-b"), func(c *authserver.Config) { c.Issuer = a.url })
	s := newSigner(t)
	p := proof(t, s, "POST", a.url+"/oauth2/token", "", "")
	if r := dpopPost(t, a, "/oauth2/token", ccForm, "svc", svcSecret, p); r.status != 200 {
		t.Fatalf("first instance: %d %v", r.status, r.body)
	}
	if r := dpopPost(t, b, "/oauth2/token", ccForm, "svc", svcSecret, p); r.status != 400 || r.str("error") != "invalid_dpop_proof" {
		t.Fatalf("the proof replayed to the second instance: %d %v", r.status, r.body)
	}
}

// A DPoP proof at the PAR endpoint binds the pushed request, and so its
// code, to the proof's key (RFC 9449 §10.1): the code redeemed with another
// key is invalid_grant, with the key it is a DPoP token; a dpop_jkt beside
// the proof must be the proof's key.
func TestDPoPAtPAR(t *testing.T) {
	e := newEnv(t)
	s, thief := newSigner(t), newSigner(t)
	parURL, tokenURL := e.url+"/oauth2/par", e.url+"/oauth2/token"
	codeOf := func() string {
		t.Helper()
		a := dpopPost(t, e, "/oauth2/par", spaRequest(), "", "", proof(t, s, "POST", parURL, "", ""))
		uri := a.str("request_uri")
		if a.status != http.StatusCreated || uri == "" {
			t.Fatalf("PAR with a proof: %d %v", a.status, a.body)
		}
		loc := login(t, authorizeURL(e, "spa", uri), "alice", alicePassword)
		code := loc.Query().Get("code")
		if code == "" {
			t.Fatalf("no code: %s", loc)
		}
		return code
	}
	if a := dpopPost(t, e, "/oauth2/token", codeForm(codeOf(), parVerifier), "", "", proof(t, thief, "POST", tokenURL, "", "")); a.status != 400 || a.str("error") != "invalid_grant" {
		t.Fatalf("code of a DPoP-pushed request with another key: %d %v", a.status, a.body)
	}
	if a := dpopPost(t, e, "/oauth2/token", codeForm(codeOf(), parVerifier), "", "", proof(t, s, "POST", tokenURL, "", "")); a.status != 200 || a.str("token_type") != "DPoP" {
		t.Fatalf("code of a DPoP-pushed request with its key: %d %v", a.status, a.body)
	}
	other := spaRequest()
	other.Set("dpop_jkt", thief.JKT())
	if a := dpopPost(t, e, "/oauth2/par", other, "", "", proof(t, s, "POST", parURL, "", "")); a.status != 400 || a.str("error") != "invalid_dpop_proof" {
		t.Fatalf("dpop_jkt of another key beside the proof: %d %v", a.status, a.body)
	}
	if a := dpopPost(t, e, "/oauth2/par", spaRequest(), "", "", proof(t, s, "POST", tokenURL, "", "")); a.status != 400 || a.str("error") != "invalid_dpop_proof" {
		t.Fatalf("a proof for the token endpoint at PAR: %d %v", a.status, a.body)
	}
}
