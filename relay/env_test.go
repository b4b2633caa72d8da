package relay_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// The scenario: alice logs in at the web client with an audience of
// service A ("users"); A calls B ("profiles") and C ("admin").
const (
	alicePassword = "correct horse battery staple"
	webSecret     = "web-secret-0123456789"
	usersSecret   = "users-secret-0123456789"
)

// authEnv is a real gatehouse auth server over a SQLite store in
// t.TempDir(), counting the requests to its token endpoint.
type authEnv struct {
	url      string
	tokenURL string
	alice    *identity.User
	store    identity.Store
	logs     *syncBuffer
	// tokenHits counts POST /oauth2/token.
	tokenHits atomic.Int64
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

func mustHash(t testing.TB, secret string) string {
	t.Helper()
	h, err := identity.HashPasswordWith(secret, testHashCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newAuthEnv(t testing.TB) *authEnv {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir()+"/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	pw, err := identity.HashPasswordWith(alicePassword, testHashCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CreateUser(ctx, &identity.User{Username: "alice", Email: "alice@acme.test", Name: "Alice",
		PasswordHash: pw, Org: "acme", Groups: []string{"admin"}, Roles: []string{"admin", "user"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*identity.Client{
		// The web app alice logs in with; its tokens are for service A.
		{ID: "web", SecretHash: mustHash(t, webSecret), Grants: []string{identity.GrantPassword},
			Scopes: []string{"profile:read", "profile:write", "admin:read"}, Audiences: []string{"users", "elsewhere", "profiles"}},
		// Service A: exchanges user tokens, and has its own.
		{ID: "users", SecretHash: mustHash(t, usersSecret),
			Grants: []string{identity.GrantClientCredentials, identity.GrantTokenExchange},
			Scopes: []string{"profile:read", "profile:write", "admin:read"}, Audiences: []string{"profiles", "admin"}},
	} {
		if err := store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	alice, err := store.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &authEnv{url: "http://" + ln.Addr().String(), alice: alice, store: store, logs: &syncBuffer{}}
	e.tokenURL = e.url + "/oauth2/token"
	srv, err := authserver.New(ctx, authserver.Config{Issuer: e.url, Store: store,
		Logger: slog.New(slog.NewJSONHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	hs := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/oauth2/token" {
			e.tokenHits.Add(1)
		}
		h.ServeHTTP(w, r)
	})}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return e
}

// verifier is what a resource server of audience builds: keys from the
// auth server's JWKS, nothing else.
func (e *authEnv) verifier(t testing.TB, audience string) *token.Verifier {
	t.Helper()
	src, err := keys.NewRemoteFromIssuer(context.Background(), e.url)
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(src, e.url, audience)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// userToken logs alice in at the web client (password grant) for audience
// and scope, and returns the token with its verified claims.
func (e *authEnv) userToken(t testing.TB, audience, scope string) (string, *token.Claims) {
	t.Helper()
	raw := e.userTokenFor(t, scope, audience)
	v, err := token.NewVerifier(e.verifierSource(t), e.url, audience)
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return raw, c
}

func (e *authEnv) verifierSource(t testing.TB) keys.Source {
	t.Helper()
	src, err := keys.NewRemoteFromIssuer(context.Background(), e.url)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// downstream is a service behind a verifier: it answers 200 with what it
// saw, 401 for a token its verifier refuses. reject, when set, may refuse
// a verified token with 401 first.
type downstream struct {
	*httptest.Server
	v      *token.Verifier
	hits   atomic.Int64
	mu     sync.Mutex
	seen   []*token.Claims
	raws   []string
	bodies []string
	reject func(raw string) bool
}

func newDownstream(t testing.TB, v *token.Verifier) *downstream {
	t.Helper()
	d := &downstream{v: v}
	d.Server = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.Close)
	return d
}

func (d *downstream) serve(w http.ResponseWriter, r *http.Request) {
	d.hits.Add(1)
	auth := r.Header.Values("Authorization")
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "Bearer ") {
		http.Error(w, "want exactly one bearer token", http.StatusUnauthorized)
		return
	}
	raw := strings.TrimPrefix(auth[0], "Bearer ")
	body, _ := io.ReadAll(r.Body)
	c, err := d.v.Verify(r.Context(), raw)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	d.mu.Lock()
	d.seen = append(d.seen, c)
	d.raws = append(d.raws, raw)
	d.bodies = append(d.bodies, string(body))
	refuse := d.reject != nil && d.reject(raw) // under the lock: reject may keep state
	d.mu.Unlock()
	if refuse {
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"sub": c.Subject})
}

// last returns the claims of the last verified request.
func (d *downstream) last(t testing.TB) *token.Claims {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.seen) == 0 {
		t.Fatal("the downstream service saw no verified request")
	}
	return d.seen[len(d.seen)-1]
}

// firstRaw returns the token of the first verified request.
func (d *downstream) firstRaw(t testing.TB) string {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.raws) == 0 {
		t.Fatal("the downstream service saw no verified request")
	}
	return d.raws[0]
}

// inbound is what the guard does in front of service A: verify the bearer
// token and put it in the request context.
func inbound(v *token.Verifier, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		c, err := v.Verify(r.Context(), raw)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		next(w, r.WithContext(token.NewContext(r.Context(), raw, c)))
	})
}

// get makes a GET with ctx through client and returns status and body.
func get(t testing.TB, ctx context.Context, client *http.Client, u string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), nil
}

func newTestServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// testHashCost makes the tests' password and secret hashes cheap: the
// default argon2id costs are for guessing, not for test runs.
var testHashCost = identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
