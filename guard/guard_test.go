package guard_test

import (
	"context"
	"encoding/json"
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
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

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
