package guard_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/token"
)

func ok(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok "+r.Pattern) }

func TestMux(t *testing.T) {
	for _, deny := range []bool{false, true} {
		name := "default allow"
		var opts []guard.Option
		if deny {
			name = "default deny"
			opts = append(opts, guard.WithDefaultDeny())
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, opts...)
			mux := f.g.Mux()
			mux.HandleFunc("GET /healthz", ok, guard.Public)
			mux.HandleFunc("GET /api/orders/{id}", ok, guard.Scope("orders:read"))
			mux.HandleFunc("DELETE /api/orders/{id}", ok, guard.Any(guard.Role("admin"), guard.Owner(ownerOf)))
			mux.HandleFunc("POST /api/orders", ok, guard.Role("user"), guard.Scope("orders:write"))
			mux.HandleFunc("GET /api/unlisted", ok) // no rule
			mux.Handle("/static/", http.StripPrefix("/static/", http.HandlerFunc(ok)), guard.Public)

			user := f.iss.Token(alice)
			writer := f.iss.Token(token.Claims{Subject: "bob", Roles: []string{"user"}, Scope: "orders:write"})
			unlisted, notFound := 200, 404
			if deny {
				unlisted, notFound = 403, 403
			}
			tests := []struct {
				name   string
				method string
				target string
				token  string
				status int
				typ    string
			}{
				{"public without token", "GET", "/healthz", "", 200, ""},
				{"public with junk token", "GET", "/healthz", "junk", 200, ""},
				{"public subtree", "GET", "/static/app.js", "", 200, ""},
				{"scope rule, no token", "GET", "/api/orders/1", "", 401, problem.TypeAuthenticationRequired},
				{"scope rule allowed", "GET", "/api/orders/1", user, 200, ""},
				{"scope rule refused", "GET", "/api/orders/1", writer, 403, problem.TypeInsufficientScope},
				{"owner sees path values", "DELETE", "/api/orders/1", user, 200, ""},
				{"not the owner", "DELETE", "/api/orders/2", user, 403, problem.TypeForbidden},
				{"no such order", "DELETE", "/api/orders/9", user, 404, problem.TypeNotFound},
				{"two rules, both allow", "POST", "/api/orders", writer, 200, ""},
				{"two rules, one refuses", "POST", "/api/orders", user, 403, problem.TypeInsufficientScope},
				{"route without rule, no token", "GET", "/api/unlisted", "", 401, problem.TypeAuthenticationRequired},
				{"route without rule", "GET", "/api/unlisted", user, unlisted, map[bool]string{true: problem.TypeForbidden}[deny]},
				{"unmatched, no token", "GET", "/nowhere", "", 401, problem.TypeAuthenticationRequired},
				{"unmatched", "GET", "/nowhere", user, notFound, map[bool]string{false: problem.TypeNotFound, true: problem.TypeForbidden}[deny]},
			}
			if !deny {
				tests = append(tests, struct {
					name   string
					method string
					target string
					token  string
					status int
					typ    string
				}{"wrong method", "PUT", "/api/orders/1", user, 405, problem.TypeMethodNotAllowed})
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var header []string
					if tt.token != "" {
						header = bearer(tt.token)
					}
					rec := serve(mux, newRequest(tt.method, tt.target, header...))
					if tt.typ == "" {
						if rec.Code != tt.status || !strings.HasPrefix(rec.Body.String(), "ok") {
							t.Fatalf("status %d: %s", rec.Code, rec.Body)
						}
						return
					}
					checkProblem(t, rec, tt.status, tt.typ)
					if tt.status == 405 && rec.Header().Get("Allow") != "DELETE, GET, HEAD" {
						t.Errorf("Allow %q", rec.Header().Get("Allow"))
					}
				})
			}
		})
	}
}

func TestMuxRoot(t *testing.T) {
	f := newFixture(t)
	mux := f.g.Mux()
	mux.HandleFunc("/", ok, guard.Role("admin"))
	mux.HandleFunc("GET /healthz", ok, guard.Public)
	admin := f.iss.Token(token.Claims{Roles: []string{"admin"}})
	if rec := get(mux, "/anything", bearer(admin)...); rec.Code != 200 || rec.Body.String() != "ok /" {
		t.Errorf("catch-all: %d %s", rec.Code, rec.Body)
	}
	checkProblem(t, get(mux, "/anything", bearer(f.iss.Token(alice))...), 403, problem.TypeForbidden)
	if rec := get(mux, "/healthz"); rec.Code != 200 {
		t.Errorf("healthz: %d", rec.Code)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second / accepted")
		}
	}()
	mux.HandleFunc("/", ok)
}

// Trailing-slash redirects and path cleaning stay those of http.ServeMux.
func TestMuxRedirects(t *testing.T) {
	f := newFixture(t)
	mux := f.g.Mux()
	mux.HandleFunc("GET /docs/", ok, guard.Public)
	if rec := get(mux, "/docs"); rec.Code != http.StatusMovedPermanently && rec.Code != http.StatusTemporaryRedirect {
		t.Errorf("no redirect: %d", rec.Code)
	}
	if rec := get(mux, "/docs/../docs/x"); rec.Code/100 != 3 {
		t.Errorf("no redirect to the clean path: %d", rec.Code)
	}
}

// An anonymous caller cannot learn from ServeMux's redirects that a guarded
// route exists: it gets the same 401 as for a path that matches nothing.
func TestMuxRedirectsDoNotRevealGuardedRoutes(t *testing.T) {
	f := newFixture(t)
	mux := f.g.Mux()
	mux.HandleFunc("GET /admin/", ok, guard.Role("admin"))
	for _, path := range []string{"/admin", "/x/../admin", "/nothere"} {
		if rec := get(mux, path); rec.Code != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: %d, want 401", path, rec.Code)
		}
	}
}

func TestMuxPanics(t *testing.T) {
	f := newFixture(t)
	for name, reg := range map[string]func(m *guard.Mux){
		"nil handler":  func(m *guard.Mux) { m.Handle("GET /a", nil) },
		"nil func":     func(m *guard.Mux) { m.HandleFunc("GET /a", nil) },
		"nil rule":     func(m *guard.Mux) { m.HandleFunc("GET /a", ok, nil) },
		"bad pattern":  func(m *guard.Mux) { m.HandleFunc("GET", ok) },
		"conflict":     func(m *guard.Mux) { m.HandleFunc("GET /a", ok); m.HandleFunc("GET /a", ok) },
		"nil in rules": func(m *guard.Mux) { m.HandleFunc("GET /a", ok, guard.Authenticated(), nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			reg(f.g.Mux())
		}()
	}
}
