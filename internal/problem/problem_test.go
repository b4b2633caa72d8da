package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func write(t *testing.T, p *Problem) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	Write(rec, p)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
	}
	return rec, body
}

func TestWrite(t *testing.T) {
	rec, body := write(t, &Problem{
		Type:       TypeInsufficientScope,
		Status:     http.StatusForbidden,
		Detail:     "the scope orders:write is required",
		Instance:   "/api/orders/7",
		Extensions: map[string]any{"error": "insufficient_scope", "scope": "orders:write"},
	})
	if rec.Code != http.StatusForbidden {
		t.Errorf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("nosniff missing")
	}
	want := map[string]any{
		"type": TypeInsufficientScope, "title": "Insufficient scope", "status": 403.0,
		"detail": "the scope orders:write is required", "instance": "/api/orders/7",
		"error": "insufficient_scope", "scope": "orders:write",
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v", k, body[k], v)
		}
	}
	if len(body) != len(want) {
		t.Errorf("members %v", body)
	}
}

func TestWriteDefaults(t *testing.T) {
	tests := []struct {
		name       string
		p          Problem
		wantStatus int
		wantType   string
		wantTitle  string
	}{
		{"blank type", Problem{Status: 404}, 404, "about:blank", "Not Found"},
		{"known type", Problem{Type: TypeUnavailable, Status: 503}, 503, TypeUnavailable, "Service unavailable"},
		{"own title", Problem{Type: TypeForbidden, Title: "No", Status: 403}, 403, TypeForbidden, "No"},
		{"unknown type", Problem{Type: "https://example.com/p/x", Status: 409}, 409, "https://example.com/p/x", "Conflict"},
		{"no status", Problem{Type: TypeInternal}, 500, TypeInternal, "Internal server error"},
		{"success status", Problem{Status: 200}, 500, "about:blank", "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, body := write(t, &tt.p)
			if rec.Code != tt.wantStatus || body["status"] != float64(tt.wantStatus) {
				t.Errorf("status %d / %v, want %d", rec.Code, body["status"], tt.wantStatus)
			}
			if body["type"] != tt.wantType || body["title"] != tt.wantTitle {
				t.Errorf("type %v title %v", body["type"], body["title"])
			}
			if _, ok := body["detail"]; ok {
				t.Error("empty detail written")
			}
		})
	}
}

// A detail that quotes a token or carries a stack trace is cut and blanked:
// the problem is the last line of defence.
func TestWriteNeverLeaks(t *testing.T) {
	const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
	rec, body := write(t, &Problem{
		Type:   TypeInternal,
		Status: 500,
		Detail: "lookup failed for " + jwt + "\ngoroutine 1 [running]:\nmain.main()\n\t/src/main.go:12",
		Extensions: map[string]any{
			"token":  jwt,
			"status": 200, // a standard member cannot be overridden
			"bad":    func() {},
		},
	})
	s := rec.Body.String()
	for _, leak := range []string{jwt, "goroutine", "main.go", "eyJ"} {
		if strings.Contains(s, leak) {
			t.Errorf("body leaks %q: %s", leak, s)
		}
	}
	if body["detail"] != "lookup failed for [redacted]" {
		t.Errorf("detail %q", body["detail"])
	}
	if body["status"] != 500.0 {
		t.Errorf("status overridden: %v", body["status"])
	}
	if _, ok := body["bad"]; ok {
		t.Error("unencodable extension written")
	}
}

func TestWriteKeepsHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("WWW-Authenticate", `Bearer realm="orders"`)
	rec.Header().Set("Content-Encoding", "gzip")
	Write(rec, &Problem{Type: TypeInvalidToken, Status: 401})
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Error("WWW-Authenticate dropped")
	}
	if rec.Header().Get("Content-Encoding") != "" {
		t.Error("Content-Encoding kept on a plain body")
	}
	if rec.Header().Get("Content-Length") != itoa(rec.Body.Len()) {
		t.Errorf("Content-Length %s for %d bytes", rec.Header().Get("Content-Length"), rec.Body.Len())
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestMarshalJSON(t *testing.T) {
	b, err := json.Marshal(&Problem{Type: TypeNotFound, Status: 404, Detail: "no such order"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"https://gatehouse.dev/problems/not-found","title":"Not found","status":404,"detail":"no such order"}`
	if string(b) != want {
		t.Errorf("got %s", b)
	}
}
