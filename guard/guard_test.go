package guard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

const audience = "orders"

// fixture is a fake issuer and a guard for its tokens.
type fixture struct {
	iss *tokentest.Issuer
	g   *guard.Guard
	log *syncBuffer
}

func newFixture(t testing.TB, opts ...guard.Option) *fixture {
	t.Helper()
	iss := tokentest.NewIssuer(t, tokentest.WithAudience(audience))
	f := &fixture{iss: iss, log: &syncBuffer{}}
	logger := slog.New(slog.NewJSONHandler(f.log, nil))
	g, err := guard.New(iss.Verifier(), append([]guard.Option{guard.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	f.g = g
	return f
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// events returns the audit events logged so far.
func (s *syncBuffer) events(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(s.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// alice is a user of organization acme.
var alice = token.Claims{
	Subject: "alice", ClientID: "spa", Email: "alice@acme.test", Org: "acme",
	Scope: "openid orders:read", Roles: []string{"user"}, Groups: []string{"staff"},
}

// echo answers 200 with what the guard put in the context.
func echo(w http.ResponseWriter, r *http.Request) {
	p, ok := guard.PrincipalFrom(r.Context())
	raw, claims, tok := token.FromContext(r.Context())
	if !ok || !tok || claims != p.Claims || raw == "" {
		http.Error(w, "no principal", http.StatusTeapot)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"sub": p.Subject, "client": p.ClientID, "org": p.Org, "email": p.Email, "jti": p.TokenID,
		"scopes": p.Scopes, "roles": p.Roles, "groups": p.Groups, "raw": raw, "ctxorg": guard.Org(r.Context()),
	})
}

func newRequest(method, target string, header ...string) *http.Request {
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	return req
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func get(h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	return serve(h, newRequest(http.MethodGet, target, header...))
}

func bearer(raw string) []string { return []string{"Authorization", "Bearer " + raw} }

// checkProblem asserts a problem+json answer of status and type.
func checkProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, typ string) map[string]any {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("Content-Type %q, want %q", ct, problem.ContentType)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if body["type"] != typ || body["status"] != float64(status) {
		t.Errorf("problem type %v status %v, want %s %d", body["type"], body["status"], typ, status)
	}
	return body
}

func TestMiddlewareAllows(t *testing.T) {
	f := newFixture(t)
	raw := f.iss.Token(alice)
	h := f.g.Middleware(http.HandlerFunc(echo))
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		rec := get(h, "/orders", "Authorization", scheme+" "+raw)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", scheme, rec.Code, rec.Body)
		}
		var got map[string]any
		json.Unmarshal(rec.Body.Bytes(), &got)
		if got["sub"] != "alice" || got["client"] != "spa" || got["org"] != "acme" || got["ctxorg"] != "acme" ||
			got["email"] != "alice@acme.test" || got["raw"] != raw || got["jti"] == "" {
			t.Errorf("%s: principal %v", scheme, got)
		}
		if s, _ := json.Marshal(got["scopes"]); string(s) != `["openid","orders:read"]` {
			t.Errorf("scopes %s", s)
		}
	}
}

func TestMiddlewareRefuses(t *testing.T) {
	f := newFixture(t)
	raw := f.iss.Token(alice)
	h := f.g.Middleware(http.HandlerFunc(echo))
	form := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader("access_token="+url.QueryEscape(raw)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	tests := []struct {
		name      string
		target    string
		header    []string
		req       func() *http.Request
		status    int
		typ       string
		challenge string // exact, or a prefix ending in "…"
	}{
		{name: "no token", target: "/orders", status: 401, typ: problem.TypeAuthenticationRequired,
			challenge: `Bearer realm="orders"`},
		{name: "basic scheme", target: "/orders", header: []string{"Authorization", "Basic YWxpY2U6cHc="}, status: 401,
			typ: problem.TypeAuthenticationRequired, challenge: `Bearer realm="orders"`},
		{name: "token in query string", target: "/orders?access_token=" + raw, status: 401,
			typ: problem.TypeAuthenticationRequired, challenge: `Bearer realm="orders"`},
		{name: "token in form body", req: form, status: 401,
			typ: problem.TypeAuthenticationRequired, challenge: `Bearer realm="orders"`},
		{name: "scheme without token", target: "/orders", header: []string{"Authorization", "Bearer"}, status: 401,
			typ: problem.TypeInvalidToken, challenge: `Bearer realm="orders", error="invalid_token", error_description="the Authorization header holds no bearer token"`},
		{name: "two tokens in one header", target: "/orders", header: []string{"Authorization", "Bearer " + raw + ", Bearer " + raw}, status: 401,
			typ: problem.TypeInvalidToken, challenge: `Bearer realm="orders", error="invalid_token", error_description="malformed token…`},
		{name: "duplicate headers", target: "/orders", header: append(bearer(raw), bearer(raw)...), status: 400,
			typ: problem.TypeInvalidRequest, challenge: `Bearer realm="orders", error="invalid_request", error_description="more than one Authorization header"`},
		{name: "duplicate headers, one basic", target: "/orders", header: append(bearer(raw), "Authorization", "Basic eA=="), status: 400,
			typ: problem.TypeInvalidRequest, challenge: `Bearer realm="orders", error="invalid_request"…`},
		{name: "garbage", target: "/orders", header: bearer("not-a-jwt"), status: 401, typ: problem.TypeInvalidToken,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="malformed token…`},
		{name: "expired", target: "/orders", header: bearer(f.iss.Expired(alice)), status: 401, typ: problem.TypeInvalidToken,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="token expired: expired at …`},
		{name: "not yet valid", target: "/orders", header: bearer(f.iss.NotYetValid(alice)), status: 401, typ: problem.TypeInvalidToken,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="token not yet valid…`},
		{name: "wrong audience", target: "/orders", header: bearer(f.iss.WrongAudience(alice)), status: 401, typ: problem.TypeInvalidToken,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="wrong audience: aud does not contain 'orders'"`},
		{name: "wrong issuer", target: "/orders", header: bearer(f.iss.WrongIssuer(alice)), status: 401, typ: problem.TypeInvalidToken,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="wrong issuer…`},
		{name: "bad signature", target: "/orders", header: bearer(f.iss.BadSignature(alice)), status: 401, typ: problem.TypeInvalidToken,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="bad signature…`},
		{name: "unknown key", target: "/orders", header: bearer(f.iss.UnknownKey(alice)), status: 401, typ: problem.TypeInvalidToken,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="unknown signing key…`},
		{name: "alg none", target: "/orders", header: bearer(f.iss.AlgNone(alice)), status: 401, typ: problem.TypeInvalidToken,
			challenge: `Bearer realm="orders", error="invalid_token", error_description="algorithm not allowed…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			if tt.req != nil {
				rec = httptest.NewRecorder()
				h.ServeHTTP(rec, tt.req())
			} else {
				rec = get(h, tt.target, tt.header...)
			}
			body := checkProblem(t, rec, tt.status, tt.typ)
			checkChallenge(t, rec.Header().Get("WWW-Authenticate"), tt.challenge)
			code, _ := body["error"].(string)
			if want := challengeError(tt.challenge); code != want {
				t.Errorf("body error %q, challenge error %q", code, want)
			}
			if strings.Contains(rec.Body.String(), raw[:40]) || strings.Contains(rec.Header().Get("WWW-Authenticate"), "eyJ") {
				t.Error("the answer quotes a token")
			}
		})
	}
}

// challengeError returns the error attribute of a challenge.
func challengeError(ch string) string {
	_, rest, ok := strings.Cut(ch, `error="`)
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, `"`)
	return code
}

func checkChallenge(t *testing.T, got, want string) {
	t.Helper()
	if p, ok := strings.CutSuffix(want, "…"); ok {
		if !strings.HasPrefix(got, p) {
			t.Errorf("WWW-Authenticate\n got %s\nwant %s…", got, p)
		}
		return
	}
	if got != want {
		t.Errorf("WWW-Authenticate\n got %s\nwant %s", got, want)
	}
}

// down is a key source that cannot be reached.
type down struct{}

func (down) Key(context.Context, string) (*keys.Key, error) {
	return nil, fmt.Errorf("fetch https://issuer.example/jwks: connection refused: %w", keys.ErrUnavailable)
}

func TestUnavailable(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience(audience))
	v, err := token.NewVerifier(down{}, iss.URL, audience)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	g, err := guard.New(v, guard.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	rec := get(g.Middleware(http.HandlerFunc(echo)), "/orders", bearer(iss.Token(alice))...)
	checkProblem(t, rec, http.StatusServiceUnavailable, problem.TypeUnavailable)
	if h := rec.Header().Get("WWW-Authenticate"); h != "" {
		t.Errorf("challenge on 503: %s", h)
	}
	ev := logs.events(t)
	if len(ev) != 1 || ev[0]["level"] != "ERROR" || ev[0]["reason"] != "unavailable" || !strings.Contains(ev[0]["error"].(string), "unavailable") {
		t.Errorf("audit %v", ev)
	} else if cause, _ := ev[0]["cause"].(string); !strings.Contains(cause, "connection refused") {
		t.Errorf("the audit event does not say why the token could not be checked: %v", ev[0])
	}
}

func TestCookie(t *testing.T) {
	f := newFixture(t, guard.WithCookie("at"))
	raw := f.iss.Token(alice)
	h := f.g.Middleware(http.HandlerFunc(echo))
	tests := []struct {
		name   string
		header []string
		status int
	}{
		{"cookie only", []string{"Cookie", "theme=dark; at=" + raw}, 200},
		{"header wins over a bad cookie", append(bearer(raw), "Cookie", "at=junk"), 200},
		{"bad header, good cookie", append(bearer("junk"), "Cookie", "at="+raw), 401},
		{"basic header, cookie", []string{"Authorization", "Basic eA==", "Cookie", "at=" + raw}, 200},
		{"two cookies", []string{"Cookie", "at=" + raw + "; at=" + raw}, 400},
		{"empty cookie", []string{"Cookie", "at="}, 401},
		{"other cookie", []string{"Cookie", "session=" + raw}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := get(h, "/orders", tt.header...); rec.Code != tt.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
		})
	}
	// Without the option a cookie is no credential.
	g := newFixture(t).g
	if rec := get(g.Middleware(http.HandlerFunc(echo)), "/orders", "Cookie", "at="+raw); rec.Code != 401 {
		t.Errorf("cookie used without WithCookie: %d", rec.Code)
	}
}

// The admin service of the accounts → admin scenario answers its own
// envelope, refusals included.
func TestErrorWriter(t *testing.T) {
	type accountsResponse struct {
		Status   string   `json:"status"`
		Message  string   `json:"message"`
		Accounts []string `json:"accounts"`
	}
	var gotStatus int
	writer := func(w http.ResponseWriter, r *http.Request, status int, ref *guard.Refusal) {
		gotStatus = status
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(accountsResponse{Status: "ERROR", Message: ref.Detail, Accounts: []string{}})
	}
	f := newFixture(t, guard.WithErrorWriter(writer))
	h := f.g.Require(guard.Group("admin"), http.HandlerFunc(echo))
	for _, tt := range []struct {
		name      string
		header    []string
		status    int
		challenge string
	}{
		{"no token", nil, 401, `Bearer realm="orders"`},
		{"expired", bearer(f.iss.Expired(alice)), 401, `Bearer realm="orders", error="invalid_token"…`},
		{"not in group", bearer(f.iss.Token(alice)), 403, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(h, "/accounts", tt.header...)
			var body accountsResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Status != "ERROR" || body.Accounts == nil {
				t.Errorf("body %s (%v)", rec.Body, err)
			}
			if rec.Code != tt.status || gotStatus != tt.status {
				t.Errorf("status %d (writer got %d), want %d", rec.Code, gotStatus, tt.status)
			}
			checkChallenge(t, rec.Header().Get("WWW-Authenticate"), tt.challenge)
		})
	}
}

func TestAudit(t *testing.T) {
	f := newFixture(t)
	mux := f.g.Mux()
	mux.HandleFunc("DELETE /api/orders/{id}", echo, guard.Role("admin"))
	raw := f.iss.Token(alice)
	req := httptest.NewRequest(http.MethodDelete, "/api/orders/7", nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	mux.ServeHTTP(httptest.NewRecorder(), req)
	// An invalid token's claims are the sender's word: not logged.
	forged := f.iss.BadSignature(token.Claims{Subject: "mallory", ID: "forged-jti"})
	get(mux, "/api/orders/7", bearer(forged)...)

	logs := f.log.String()
	if strings.Contains(logs, raw) || strings.Contains(logs, forged) || strings.Contains(logs, "eyJ") {
		t.Fatalf("the audit log holds a token:\n%s", logs)
	}
	if strings.Contains(logs, "mallory") || strings.Contains(logs, "forged-jti") {
		t.Errorf("the audit log holds claims of an unverified token:\n%s", logs)
	}
	ev := f.log.events(t)
	if len(ev) != 2 {
		t.Fatalf("want 2 events, got %d:\n%s", len(ev), logs)
	}
	_, payload, _ := token.ParseUnverified(raw)
	var claims struct {
		ID string `json:"jti"`
	}
	json.Unmarshal(payload, &claims)
	want := map[string]any{
		"msg": "audit", "event": "request_refused", "reason": "forbidden", "status": 403.0,
		"route": "DELETE /api/orders/{id}", "method": "DELETE", "sub": "alice", "client": "spa", "jti": claims.ID,
	}
	for k, v := range want {
		if ev[0][k] != v {
			t.Errorf("%s = %v, want %v", k, ev[0][k], v)
		}
	}
	if ev[1]["reason"] != "invalid_token" || ev[1]["route"] != "/api/orders/7" || ev[1]["sub"] != nil || ev[1]["jti"] != nil {
		t.Errorf("invalid token event %v", ev[1])
	}
}

// countingRevoker counts verifications (it is asked on every Verify).
type countingRevoker struct{ n atomic.Int64 }

func (c *countingRevoker) Revoked(context.Context, *token.Claims) (bool, error) {
	c.n.Add(1)
	return false, nil
}

func TestMiddlewareAroundRequireVerifiesOnce(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience(audience))
	rev := &countingRevoker{}
	g, err := guard.New(iss.Verifier(token.WithRevoker(rev)), guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	h := g.Middleware(g.Require(guard.Role("user"), http.HandlerFunc(echo)))
	if rec := get(h, "/", bearer(iss.Token(alice))...); rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if n := rev.n.Load(); n != 1 {
		t.Errorf("verified %d times", n)
	}
	// A principal of another guard (another audience) is not trusted.
	other := tokentest.NewIssuer(t, tokentest.WithAudience(audience))
	og, _ := guard.New(other.Verifier(), guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h = og.Middleware(g.Require(guard.Role("user"), http.HandlerFunc(echo)))
	if rec := get(h, "/", bearer(other.Token(alice))...); rec.Code != 401 {
		t.Errorf("a principal of another guard was trusted: %d", rec.Code)
	}
}

func TestNew(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience(audience))
	v := iss.Verifier()
	if _, err := guard.New(nil); err == nil {
		t.Error("nil verifier accepted")
	}
	for name, opt := range map[string]guard.Option{
		"realm with quote":  guard.WithRealm(`a"b`),
		"empty realm":       guard.WithRealm(""),
		"cookie name":       guard.WithCookie("a b"),
		"nil writer":        guard.WithErrorWriter(nil),
		"nil logger":        guard.WithLogger(nil),
		"method name":       guard.WithMethods(map[string]guard.Rule{"Check": guard.Authenticated()}),
		"method no service": guard.WithMethods(map[string]guard.Rule{"//Check": guard.Authenticated()}),
		"nil method rule":   guard.WithMethods(map[string]guard.Rule{"/a.B/C": nil}),
	} {
		if _, err := guard.New(v, opt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m := map[string]guard.Rule{"/a.B/C": guard.Authenticated()}
	if _, err := guard.New(v, guard.WithMethods(m), guard.WithMethods(m)); err == nil {
		t.Error("a method with two rules accepted")
	}
	g, err := guard.New(v, guard.WithRealm("shop"))
	if err != nil {
		t.Fatal(err)
	}
	if h := get(g.Middleware(http.HandlerFunc(echo)), "/").Header().Get("WWW-Authenticate"); h != `Bearer realm="shop"` {
		t.Errorf("challenge %s", h)
	}
}

func TestRuleConstructorsPanic(t *testing.T) {
	for name, build := range map[string]func(){
		"Role":       func() { guard.Role("") },
		"AnyRole":    func() { guard.AnyRole() },
		"AnyRole ''": func() { guard.AnyRole("a", "") },
		"Scope":      func() { guard.Scope("") },
		"Scope sp":   func() { guard.Scope("a b") },
		"Group":      func() { guard.Group("") },
		"SameOrg":    func() { guard.SameOrg(nil) },
		"Owner":      func() { guard.Owner(nil) },
		"All":        func() { guard.All() },
		"Any nil":    func() { guard.Any(guard.Authenticated(), nil) },
		"Not":        func() { guard.Not(nil) },
		"Require":    func() { (&guard.Guard{}).Require(nil, http.NotFoundHandler()) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			build()
		}()
	}
}

func TestRefuse(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		err    error
		status int
		typ    string
	}{
		{guard.ErrNotFound, 404, problem.TypeNotFound},
		{guard.Forbidden("no"), 403, problem.TypeForbidden},
		{errors.New("database down"), 500, problem.TypeInternal},
		{nil, 403, problem.TypeForbidden},
	} {
		rec := httptest.NewRecorder()
		f.g.Refuse(rec, httptest.NewRequest("GET", "/x", nil), tt.err)
		body := checkProblem(t, rec, tt.status, tt.typ)
		if tt.status == 500 && (body["detail"] != nil || strings.Contains(rec.Body.String(), "database")) {
			t.Errorf("500 with details: %s", rec.Body)
		}
	}
}

// FuzzMiddleware: whatever the Authorization and Cookie headers hold, the
// guard answers 400 or 401 (never lets the request through, never fails),
// and never echoes them.
func FuzzMiddleware(f *testing.F) {
	fx := newFixture(f, guard.WithCookie("at"), guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	valid := fx.iss.Token(alice)
	for _, seed := range [][2]string{
		{"Bearer " + valid[:len(valid)-2], ""},
		{"Bearer ", ""},
		{"bearer  x.y.z", ""},
		{"Basic YTpi", "at=x.y.z"},
		{"", "at=eyJhbGciOiJub25lIn0.e30."},
		{"Bearer eyJhbGciOiJub25lIn0.e30.", ""},
		{"Bearer a,b", "at=1; at=2"},
	} {
		f.Add(seed[0], seed[1])
	}
	h := fx.g.Middleware(http.HandlerFunc(echo))
	f.Fuzz(func(t *testing.T, authz, cookie string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if authz != "" {
			req.Header["Authorization"] = []string{authz}
		}
		if cookie != "" {
			req.Header["Cookie"] = []string{cookie}
		}
		rec := serve(h, req)
		if rec.Code != 400 && rec.Code != 401 {
			t.Fatalf("status %d for %q / %q", rec.Code, authz, cookie)
		}
		if len(authz) > 8 && strings.Contains(rec.Body.String()+rec.Header().Get("WWW-Authenticate"), authz) {
			t.Fatalf("answer echoes the header %q", authz)
		}
	})
}

// Concurrent requests with several tokens each find their own principal
// (run with -race).
func TestConcurrentRequests(t *testing.T) {
	f := newFixture(t)
	subjects := []string{"alice", "bob", "carol"}
	tokens := make([]string, len(subjects))
	for i, s := range subjects {
		tokens[i] = f.iss.Token(token.Claims{Subject: s, Org: s + "-org"})
	}
	h := f.g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := guard.PrincipalFrom(r.Context())
		raw, _, _ := token.FromContext(r.Context())
		io.WriteString(w, p.Subject+" "+guard.Org(r.Context())+" "+raw)
	}))
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			for j := range 20 {
				k := (i + j) % len(tokens)
				rec := get(h, "/", bearer(tokens[k])...)
				if want := subjects[k] + " " + subjects[k] + "-org " + tokens[k]; rec.Body.String() != want {
					t.Errorf("got %q, want %q", rec.Body, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
