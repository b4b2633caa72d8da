package guard_test

// The fixtures the tests of this package share: a guard for a fake issuer's
// tokens with its audit log, the user alice, a handler that echoes the
// principal, requests and their answers, and checks of problem answers and
// challenges.

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/problem"
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
