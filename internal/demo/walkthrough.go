package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/token"
)

// ErrStepsFailed is returned by [Walkthrough] when a step did not behave.
var ErrStepsFailed = errors.New("demo: walkthrough steps failed")

// Walkthrough runs every step of the four scenarios against env as an HTTP
// client, through the gateway, and prints one line per step to out: what
// was asked, the status expected and got, and the decisive claim or header.
// It returns nil only if every step behaved, else an error wrapping
// ErrStepsFailed. It changes env's data (orders are deleted) and briefly
// stops profiles, so run it once per start.
func Walkthrough(ctx context.Context, env *Env, out io.Writer) error {
	jar, _ := cookiejar.New(nil)
	w := &walker{ctx: ctx, env: env, out: out, hc: &http.Client{Timeout: 30 * time.Second, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	start := time.Now()
	w.seeds000()
	w.seeds001()
	w.seeds002()
	w.seeds003()
	fmt.Fprintf(out, "\n%d steps, %d failed, %s\n", w.steps, w.failed, time.Since(start).Round(time.Millisecond))
	if w.failed > 0 {
		return fmt.Errorf("%w: %d of %d", ErrStepsFailed, w.failed, w.steps)
	}
	return nil
}

// walker runs steps and counts them.
type walker struct {
	tokens        map[string]string // user → access token of a plain password grant
	ctx           context.Context
	env           *Env
	out           io.Writer
	hc            *http.Client
	steps, failed int
}

// result is what a request got.
type result struct {
	status int
	header http.Header
	body   []byte
	err    error
	took   time.Duration
}

// json decodes the body into v, or returns nil.
func (r result) json() map[string]any {
	var m map[string]any
	json.Unmarshal(r.body, &m)
	return m
}

// do makes a request; body is sent as form when it is url.Values, else as
// it is.
func (w *walker) do(method, rawURL, bearer string, body any, hdr ...string) result {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(w.ctx, method, rawURL, rd)
	if err != nil {
		return result{err: err}
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	t0 := time.Now()
	resp, err := w.hc.Do(req)
	if err != nil {
		return result{err: err, took: time.Since(t0)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return result{status: resp.StatusCode, header: resp.Header, body: b, err: err, took: time.Since(t0)}
}

// step prints one line and counts a failure when ok is false.
func (w *walker) step(scenario, what string, want, got int, ok bool, detail string) {
	w.check(scenario, what, strconv.Itoa(want), strconv.Itoa(got), ok && want == got, detail)
}

// check is step for outcomes that are not an HTTP status.
func (w *walker) check(scenario, what, want, got string, ok bool, detail string) {
	w.steps++
	mark := "ok  "
	if !ok {
		mark = "FAIL"
		w.failed++
	}
	fmt.Fprintf(w.out, "%s %s  %-52s want %s got %s  %s\n", mark, scenario, what, want, got, detail)
}

// password gets a token for user with the cli client; extra adds form
// parameters (scope, audience).
func (w *walker) password(user string, extra url.Values) (string, result) {
	if tok, ok := w.tokens[user]; ok && extra == nil {
		return tok, result{status: http.StatusOK}
	}
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {w.env.Passwords[user]}}
	for k, v := range extra {
		form[k] = v
	}
	req, _ := http.NewRequestWithContext(w.ctx, http.MethodPost, w.env.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("cli", w.env.ClientSecrets["cli"])
	resp, err := w.hc.Do(req)
	if err != nil {
		return "", result{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	r := result{status: resp.StatusCode, body: b}
	tok, _ := r.json()["access_token"].(string)
	if tok != "" && extra == nil {
		if w.tokens == nil {
			w.tokens = map[string]string{}
		}
		w.tokens[user] = tok // each password grant costs an argon2id hash
	}
	return tok, r
}

// claims decodes a token's claims for display; the walkthrough is the
// token's own client, it does not make trust decisions with them.
func claims(raw string) *token.Claims {
	_, payload, err := token.ParseUnverified(raw)
	c := &token.Claims{}
	if err == nil {
		json.Unmarshal(payload, c)
	}
	return c
}

func (w *walker) seeds000() {
	gw := w.env.GatewayURL
	alice, r := w.password("alice", nil)
	c := claims(alice)
	w.step("000", "alice: password grant at /oauth2/token", 200, r.status, alice != "",
		fmt.Sprintf("org=%s groups=%v aud=%v", c.Org, c.Groups, c.Audience))
	before := w.env.StoreReads()
	r = w.do("GET", gw+"/api/accounts", alice, nil)
	m := r.json()
	first := w.env.StoreReads() - before
	w.step("000", "alice: GET /api/accounts → accounts → admin (HS256)", 200, r.status, m["status"] == "OK" &&
		fmt.Sprint(m["emails"]) == "[alice@acme.example bob@acme.example]", fmt.Sprintf("status=%v emails=%v", m["status"], m["emails"]))
	bob, _ := w.password("bob", nil)
	r = w.do("GET", gw+"/api/accounts", bob, nil)
	m = r.json()
	w.step("000", "bob: GET /api/accounts (not in group admin)", 403, r.status, m["status"] == "ERROR",
		fmt.Sprintf("status=%v error=%q", m["status"], m["error"]))
	before = w.env.StoreReads()
	ok := true
	for range 3 {
		ok = ok && w.do("GET", gw+"/api/accounts", alice, nil).status == 200
	}
	again := w.env.StoreReads() - before
	w.step("000", "alice: 3 more calls; identity store reads via cache", 200, 200, ok && again == 0,
		fmt.Sprintf("store reads: first call %d, next 3 calls %d (without the cache: 3 per call)", first, again))
}

func (w *walker) seeds001() {
	gw := w.env.GatewayURL
	alice, _ := w.password("alice", nil)
	r := w.do("GET", gw+"/api/users/bob", alice, nil)
	prof, _ := r.json()["profile"].(map[string]any)
	w.step("001", "alice: GET /api/users/bob → 3 parallel profiles calls", 200, r.status, prof["display_name"] == "Bob Builder",
		fmt.Sprintf("profile.display_name=%v (token relayed from 3 goroutines)", prof["display_name"]))
	r = w.do("GET", gw+"/api/users/carol", alice, nil)
	w.step("001", "alice: GET /api/users/carol (globex)", 404, r.status, true, "another organization's profile is not found")
	if err := w.env.SetProfilesDown(true); err != nil {
		w.step("001", "stop profiles", 0, 1, false, err.Error())
		return
	}
	defer w.env.SetProfilesDown(false)
	r = w.do("GET", gw+"/api/users/bob", alice, nil)
	w.step("001", "profiles down: GET /api/users/bob", 503, r.status, r.took < 3*time.Second,
		fmt.Sprintf("in %s: %v", r.took.Round(time.Millisecond), r.json()["detail"]))
	r = w.do("GET", gw+"/api/users/bob", alice, nil)
	d, _ := r.json()["detail"].(string)
	w.step("001", "profiles down again: breaker answers", 503, r.status, strings.Contains(d, "circuit breaker open") && r.took < time.Second,
		fmt.Sprintf("in %s: %s", r.took.Round(time.Millisecond), d))
}

func (w *walker) seeds002() {
	gw, env := w.env.GatewayURL, w.env
	carol, r := w.password("carol", nil)
	w.step("002", "carol: password grant", 200, r.status, claims(carol).Org == "globex", "org="+claims(carol).Org)
	r = w.do("GET", gw+"/api/orders", carol, nil)
	orgs := orderOrgs(r)
	w.step("002", "carol: GET /api/orders", 200, r.status, len(orgs) > 0 && !slices.ContainsFunc(orgs, func(o string) bool { return o != "globex" }),
		fmt.Sprintf("orders of orgs %v", orgs))
	r = w.do("GET", gw+"/api/orders/A-1001", carol, nil)
	w.step("002", "carol: GET /api/orders/A-1001 (an acme order)", 404, r.status, true, "same answer as a missing order")

	// The legacy session service hands out opaque sessions; the auth
	// server exchanges them for JWTs (RFC 8693 + RFC 7662).
	r = w.do("POST", env.Services["legacy"]+"/login", "", url.Values{"username": {"carol"}, "password": {env.Passwords["carol"]}})
	session, _ := r.json()["session"].(string)
	w.step("002", "carol: legacy POST /login → opaque session", 200, r.status, session != "" && strings.Count(session, ".") == 0, "session token is opaque")
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {session},
		"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"}}
	req, _ := http.NewRequestWithContext(w.ctx, http.MethodPost, env.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("cli", env.ClientSecrets["cli"])
	jwt, status := "", 0
	if resp, err := w.hc.Do(req); err == nil {
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr)
		resp.Body.Close()
		jwt, status = tr.AccessToken, resp.StatusCode
	}
	lc := claims(jwt)
	w.step("002", "token exchange: legacy session → JWT", 200, status, lc.Org == "globex" && lc.Email == "carol@globex.example",
		fmt.Sprintf("JWT for %s, org=%s, scope=%q", lc.Email, lc.Org, lc.Scope))
	r = w.do("GET", gw+"/api/orders", jwt, nil)
	w.step("002", "exchanged JWT: GET /api/orders", 200, r.status, true, fmt.Sprintf("orders of orgs %v", orderOrgs(r)))

	// Logout: revoke at the auth server; every gate refuses within a second.
	r = w.do("POST", env.Issuer+"/oauth2/revoke", "", url.Values{"token": {carol}}, "Authorization", basic("cli", env.ClientSecrets["cli"]))
	w.step("002", "carol: logout, POST /oauth2/revoke", 200, r.status, true, "jti="+claims(carol).ID)
	delete(w.tokens, "carol")
	t0 := time.Now()
	var gwStatus, svcStatus int
	for time.Since(t0) < time.Second {
		gwStatus = w.do("GET", gw+"/api/orders", carol, nil).status
		svcStatus = w.do("GET", env.Services["orders"]+"/api/orders", carol, nil).status
		if gwStatus == 401 && svcStatus == 401 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.step("002", "revoked token at the gateway", 401, gwStatus, true, fmt.Sprintf("refused after %s", time.Since(t0).Round(time.Millisecond)))
	w.step("002", "revoked token at orders itself (guard)", 401, svcStatus, true, "every service checks the list")
}

func (w *walker) seeds003() {
	gw := w.env.GatewayURL
	// The browser app: authorization code + PKCE with golang.org/x/oauth2,
	// and a DPoP key (RFC 9449) as the app holds one: every token request
	// carries a proof, and the tokens are bound to the key.
	signer, err := dpop.GenerateSigner()
	var tok *oauth2.Token
	if err == nil {
		tok, err = w.codeFlow("alice", signer)
	}
	status, detail, bound := 200, "", false
	if err != nil {
		status, detail = 0, err.Error()
	} else {
		idt, _ := tok.Extra("id_token").(string)
		var jkt string
		jkt, bound = boundTo(tok.AccessToken, signer)
		detail = fmt.Sprintf("access (token_type %s, %s), refresh (%t) and ID token (%t)", tok.TokenType, jkt, tok.RefreshToken != "", idt != "")
	}
	w.step("003", "spa: code + PKCE + DPoP (authorize → login → code → token)", 200, status, err == nil && tok.RefreshToken != "" && bound, detail)
	if err == nil {
		w.dpopSteps(tok, signer)
		fresh, err := w.spaRefresh(tok, signer)
		ok := err == nil && fresh.AccessToken != tok.AccessToken
		detail := "refresh token rotated"
		if ok {
			var jkt string
			jkt, ok = boundTo(fresh.AccessToken, signer)
			detail += ", " + jkt
			thief, _ := dpop.GenerateSigner()
			_, err = w.spaRefresh(fresh, thief)
			var re *oauth2.RetrieveError
			refused := errors.As(err, &re)
			w.step("003", "spa: refresh proven with the wrong key (stolen refresh token)", 400, map[bool]int{true: 400, false: 200}[refused], refused,
				"the public client's refresh token is bound to the app's key")
		}
		w.step("003", "spa: refresh with a proof of the same key renews", 200, map[bool]int{true: 200, false: 0}[ok], ok, detail)
	}
	narrow, _ := w.password("alice", url.Values{"scope": {"openid"}})
	r := w.do("GET", gw+"/api/orders", narrow, nil)
	w.step("003", "token without orders:read: GET /api/orders", 403, r.status, true, "WWW-Authenticate: "+r.header.Get("WWW-Authenticate"))
	alice, _ := w.password("alice", nil)
	bob, _ := w.password("bob", nil)
	carol, _ := w.password("carol", nil)
	r = w.do("DELETE", gw+"/api/orders/A-1001", bob, nil)
	w.step("003", "bob: DELETE alice's order A-1001", 403, r.status, true, fmt.Sprint(r.json()["detail"]))
	r = w.do("DELETE", gw+"/api/orders/A-1001", carol, nil)
	w.step("003", "carol (globex): DELETE acme order A-1001", 404, r.status, true, "not even told it exists")
	r = w.do("DELETE", gw+"/api/orders/A-1002", bob, nil)
	w.step("003", "bob: DELETE his own order A-1002", 204, r.status, true, "owner")
	r = w.do("POST", gw+"/api/orders", bob, []byte(`{"item":"giant magnet"}`))
	id, _ := r.json()["id"].(string)
	w.step("003", "bob: POST /api/orders", 201, r.status, id != "", "id="+id)
	r = w.do("DELETE", gw+"/api/orders/"+id, alice, nil)
	w.step("003", "alice (role admin): DELETE bob's order", 204, r.status, true, "admin")

	payer, _ := w.password("alice", url.Values{"audience": {"api", "orders"}})
	r = w.do("POST", gw+"/api/orders/A-1001/pay", payer, nil)
	m := r.json()
	w.step("003", "alice: pay A-1001 → orders exchanges → payments", 200, r.status,
		m["act"] == "orders" && m["user"] == claims(alice).Subject && m["peer"] == ordersID.String(),
		fmt.Sprintf("payments saw sub=alice's id, act=%v, over mTLS from %v", m["act"], m["peer"]))
	r = w.do("POST", gw+"/api/orders/A-1001/pay", alice, nil)
	w.step("003", "pay with a token not issued for orders", 403, r.status, true, fmt.Sprint(r.json()["detail"]))
	r = w.do("GET", gw+"/api/orders/settlement", alice, nil)
	m = r.json()
	w.step("003", "settlement: orders → payments, client credentials", 200, r.status, m["caller"] == "orders" && m["user"] == "",
		fmt.Sprintf("payments saw sub=%v, no user", m["caller"]))
	// payments takes certificate-bound tokens only, from the connection of
	// their certificate (walkthrough_mtls.go).
	w.stolenFromOrders()

	r = w.do("POST", gw+"/api/orders", alice, bytes.Repeat([]byte("x"), ordersMaxBody+1))
	w.step("003", fmt.Sprintf("POST /api/orders with a %d KiB body", (ordersMaxBody+1)>>10), 413, r.status, true, "refused at the gateway")
	r = w.do("GET", gw+"/api/orders", alice, nil, "Origin", "http://evil.example")
	w.step("003", "GET /api/orders from Origin http://evil.example", 200, r.status, r.header.Get("Access-Control-Allow-Origin") == "",
		fmt.Sprintf("Access-Control-Allow-Origin=%q", r.header.Get("Access-Control-Allow-Origin")))
	r = w.do("GET", gw+"/api/orders", alice, nil, "Origin", gw)
	w.step("003", "GET /api/orders from the app's own origin", 200, r.status, r.header.Get("Access-Control-Allow-Origin") == gw,
		fmt.Sprintf("Access-Control-Allow-Origin=%q", r.header.Get("Access-Control-Allow-Origin")))
	n := 0
	for n < 3*ordersLimit.BurstCapacity {
		n++
		if r = w.do("GET", gw+"/api/orders", alice, nil); r.status != 200 {
			break
		}
	}
	w.step("003", fmt.Sprintf("burst of GET /api/orders (limit: burst %d, %g/s)", ordersLimit.BurstCapacity, ordersLimit.ReplenishRate), 429, r.status,
		r.header.Get("Retry-After") != "", fmt.Sprintf("refused at request %d, Retry-After: %s", n, r.header.Get("Retry-After")))
}

// orderOrgs lists the organizations of the orders in a list answer.
func orderOrgs(r result) []string {
	var body struct {
		Orders []order `json:"orders"`
	}
	json.Unmarshal(r.body, &body)
	var orgs []string
	for _, o := range body.Orders {
		orgs = append(orgs, o.Org)
	}
	return orgs
}

func basic(id, secret string) string {
	req := &http.Request{Header: http.Header{}}
	req.SetBasicAuth(id, secret)
	return req.Header.Get("Authorization")
}

func spaConfig(env *Env) *oauth2.Config {
	return &oauth2.Config{ClientID: "spa", RedirectURL: env.GatewayURL + "/app/callback",
		Scopes: []string{"openid", "orders:read", "offline_access"},
		Endpoint: oauth2.Endpoint{AuthURL: env.Issuer + "/oauth2/authorize", TokenURL: env.Issuer + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams}}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// codeFlow logs user in as the browser app would: authorize, the login
// form (with its CSRF token), the redirect with the code, and the code
// redemption with the PKCE verifier.
// The token endpoint gets a DPoP proof of signer's key with the code.
func (w *walker) codeFlow(user string, signer *dpop.Signer) (*oauth2.Token, error) {
	conf := spaConfig(w.env)
	verifier := oauth2.GenerateVerifier()
	state := oauth2.GenerateVerifier()[:16]
	r := w.do("GET", conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), "", nil)
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("authorize answered %d", r.status)
	}
	form := url.Values{"username": {user}, "password": {w.env.Passwords[user]}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(r.body), -1) {
		form.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if form.Get("csrf") == "" {
		return nil, errors.New("the login form has no CSRF token")
	}
	r = w.do("POST", w.env.Issuer+"/login", "", form)
	if r.status != http.StatusSeeOther {
		return nil, fmt.Errorf("login answered %d, want 303", r.status)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil || loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		return nil, errors.New("the redirect carries no code or the wrong state")
	}
	return conf.Exchange(context.WithValue(w.ctx, oauth2.HTTPClient, w.spaClient(signer)), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
}
