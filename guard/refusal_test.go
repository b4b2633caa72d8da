package guard_test

// How the guard answers and records a refusal: 503 when the token cannot
// be checked, an error writer of the service's own, Refuse for a handler's
// errors, and the audit events.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

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
