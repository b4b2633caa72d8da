package relay_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/errgroup"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
)

// seen is what a guarded service B reports about the caller it let in.
type seen struct {
	Sub    string   `json:"sub"`
	Client string   `json:"client"`
	Iss    string   `json:"iss"`
	Aud    []string `json:"aud"`
	Scopes []string `json:"scopes"`
	Actor  string   `json:"act"`
}

func reportPrincipal(w http.ResponseWriter, r *http.Request) {
	p, _ := guard.PrincipalFrom(r.Context())
	s := seen{Sub: p.Subject, Client: p.ClientID, Iss: p.Claims.Issuer, Aud: p.Claims.Audience, Scopes: p.Scopes}
	if p.Claims.Actor != nil {
		s.Actor = p.Claims.Actor.Subject
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s)
}

// guardedProfiles is service B ("profiles") behind a guard with per-route
// rules and default deny; hits counts the requests that reached it at all.
func guardedProfiles(t *testing.T, v *token.Verifier, hits *atomic.Int64) string {
	t.Helper()
	g, err := guard.New(v, guard.WithDefaultDeny())
	if err != nil {
		t.Fatal(err)
	}
	mux := g.Mux()
	mux.HandleFunc("GET /profiles/{id}", reportPrincipal, guard.Scope("profile:read"))
	mux.HandleFunc("POST /profiles/{id}", reportPrincipal, guard.Scope("profile:write"))
	mux.HandleFunc("GET /reports", reportPrincipal, guard.Group("admin"))
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	return srv.URL
}

// guardedA is service A ("users") behind its own guard. GET /call makes one
// outbound call to B (method and path from the query) through client with
// the request's context, and answers B's status, content type,
// WWW-Authenticate and body; GET /fanout makes n calls from an errgroup.
func guardedA(t *testing.T, v *token.Verifier, client *http.Client, b string) string {
	t.Helper()
	g, err := guard.New(v)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /call", func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.URL.Query().Get("method"), b+r.URL.Query().Get("path"), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, "downstream: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for _, h := range []string{"Content-Type", "WWW-Authenticate"} {
			if v := resp.Header.Get(h); v != "" {
				w.Header().Set(h, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
	mux.HandleFunc("GET /fanout", func(w http.ResponseWriter, r *http.Request) {
		const n = 50
		subs := make([]string, n)
		eg, ctx := errgroup.WithContext(r.Context())
		for i := range n {
			eg.Go(func() error {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/profiles/%d", b, i), nil)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				var s seen
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("call %d: status %d", i, resp.StatusCode)
				}
				if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
					return err
				}
				subs[i] = s.Sub
				return nil
			})
		}
		if err := eg.Wait(); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		json.NewEncoder(w).Encode(subs)
	})
	return newTestServer(t, g.Middleware(mux)).URL
}

// userTokenFor logs alice in at the web client for scope and audiences.
func (e *authEnv) userTokenFor(t testing.TB, scope string, audiences ...string) string {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword},
		"scope": {scope}, "audience": audiences}
	req, _ := http.NewRequest(http.MethodPost, e.tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("web", webSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("password grant: %d %s", resp.StatusCode, body)
	}
	return out.AccessToken
}

// callA asks service A, with bearer, to call B; it returns A's answer.
func callA(t *testing.T, a, bearer, method, path string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a+"/call?"+url.Values{"method": {method}, "path": {path}}.Encode(), nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func decodeSeen(t *testing.T, body string) seen {
	t.Helper()
	var s seen
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("B's answer %q: %v", body, err)
	}
	return s
}

func transportClient(t *testing.T, src relay.Source) *http.Client {
	t.Helper()
	tr, err := relay.NewTransport(http.DefaultTransport, src)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr}
}

// TestGuardedServicesEndToEnd is issue 4's end-to-end: service A and
// service B are httptest servers with guards, A calls B through relay in
// each of the four modes against a real auth server, and B lets in exactly
// what it should.
func TestGuardedServicesEndToEnd(t *testing.T) {
	e := newAuthEnv(t)
	var bHits atomic.Int64
	b := guardedProfiles(t, e.verifier(t, "profiles"), &bHits)
	aVerifier := e.verifier(t, "users")
	alice := e.alice.ID

	t.Run("relay", func(t *testing.T) {
		a := guardedA(t, aVerifier, transportClient(t, relay.Relay{}), b)
		both := e.userTokenFor(t, "profile:read", "users", "profiles")

		status, _, body := callA(t, a, both, http.MethodGet, "/profiles/1")
		if status != http.StatusOK {
			t.Fatalf("relayed token for users+profiles: %d %s", status, body)
		}
		if s := decodeSeen(t, body); s.Sub != alice || s.Client != "web" || s.Actor != "" || !slices.Contains(s.Aud, "profiles") {
			t.Fatalf("B saw %+v, want alice's own token from web, no act", s)
		}

		// B's rule: the relayed token lacks profile:write.
		status, h, body := callA(t, a, both, http.MethodPost, "/profiles/1")
		if status != http.StatusForbidden || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("POST without profile:write: %d %s %s, want 403 problem+json", status, h.Get("Content-Type"), body)
		}

		// A token for A only is A's to keep: B refuses it (audience).
		onlyA := e.userTokenFor(t, "profile:read", "users")
		status, h, body = callA(t, a, onlyA, http.MethodGet, "/profiles/1")
		if status != http.StatusUnauthorized || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("relayed token without B's audience: %d %q %s, want 401 invalid_token", status, h.Get("WWW-Authenticate"), body)
		}

		// 50 goroutines of one request, each carrying the caller's token.
		req, _ := http.NewRequest(http.MethodGet, a+"/fanout", nil)
		req.Header.Set("Authorization", "Bearer "+both)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var subs []string
		if err := json.NewDecoder(resp.Body).Decode(&subs); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("fan-out: %d %v", resp.StatusCode, err)
		}
		if len(subs) != 50 || slices.ContainsFunc(subs, func(s string) bool { return s != alice }) {
			t.Fatalf("fan-out subjects %v, want 50 times alice", subs)
		}
	})

	t.Run("exchange", func(t *testing.T) {
		ex, err := relay.NewExchange(relay.ExchangeConfig{TokenURL: e.tokenURL, ClientID: "users", ClientSecret: usersSecret,
			Audience: "profiles", Scopes: []string{"profile:read"}})
		if err != nil {
			t.Fatal(err)
		}
		a := guardedA(t, aVerifier, transportClient(t, ex), b)
		onlyA := e.userTokenFor(t, "profile:read profile:write", "users")

		status, _, body := callA(t, a, onlyA, http.MethodGet, "/profiles/1")
		if status != http.StatusOK {
			t.Fatalf("exchanged token: %d %s", status, body)
		}
		s := decodeSeen(t, body)
		if s.Sub != alice || s.Actor != "users" || !slices.Equal(s.Aud, []string{"profiles"}) || !slices.Equal(s.Scopes, []string{"profile:read"}) {
			t.Fatalf("B saw %+v, want alice acted for by users, aud profiles, scope narrowed to profile:read", s)
		}
		// Narrowed: the caller had profile:write, the exchanged token has not.
		if status, _, body := callA(t, a, onlyA, http.MethodPost, "/profiles/1"); status != http.StatusForbidden {
			t.Fatalf("POST with the narrowed token: %d %s, want 403", status, body)
		}
	})

	t.Run("client credentials", func(t *testing.T) {
		cc, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{Audience: "profiles",
			OAuth2: clientcredentials.Config{ClientID: "users", ClientSecret: usersSecret, TokenURL: e.tokenURL, Scopes: []string{"profile:read"}}})
		if err != nil {
			t.Fatal(err)
		}
		a := guardedA(t, aVerifier, transportClient(t, cc), b)
		caller := e.userTokenFor(t, "profile:read", "users")

		status, _, body := callA(t, a, caller, http.MethodGet, "/profiles/1")
		if status != http.StatusOK {
			t.Fatalf("client credentials token: %d %s", status, body)
		}
		if s := decodeSeen(t, body); s.Sub == alice || s.Client != "users" || s.Actor != "" {
			t.Fatalf("B saw %+v, want the service's own token (client users, no user)", s)
		}
		// A route for admins: the service's own token has no user, no group.
		if status, _, body := callA(t, a, caller, http.MethodGet, "/reports"); status != http.StatusForbidden {
			t.Fatalf("GET /reports with a service token: %d %s, want 403", status, body)
		}
	})

	t.Run("mint", func(t *testing.T) {
		secret, err := keys.New(keys.HS256, []byte("the accounts/admin shared secret, 32+ bytes"))
		if err != nil {
			t.Fatal(err)
		}
		// Service B of the accounts → admin scenario ("admin"): trusts tokens minted by users
		// with the shared secret.
		src, _ := keys.NewStatic(secret)
		adminV, err := token.NewVerifier(src, "users", "admin", token.WithAlgorithms(keys.HS256))
		if err != nil {
			t.Fatal(err)
		}
		// Minted tokens carry the user, not scopes: admin only asks for a verified caller.
		ag, err := guard.New(adminV)
		if err != nil {
			t.Fatal(err)
		}
		admin := newTestServer(t, ag.Require(guard.Authenticated(), http.HandlerFunc(reportPrincipal))).URL
		mint, err := relay.NewMint(relay.MintConfig{Service: "users", Key: secret, Audience: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		a := guardedA(t, aVerifier, transportClient(t, mint), admin)
		caller := e.userTokenFor(t, "profile:read", "users")

		status, _, body := callA(t, a, caller, http.MethodGet, "/profiles/1")
		if status != http.StatusOK {
			t.Fatalf("minted token: %d %s", status, body)
		}
		if s := decodeSeen(t, body); s.Sub != alice || s.Iss != "users" || s.Actor != "users" || !slices.Equal(s.Aud, []string{"admin"}) {
			t.Fatalf("admin saw %+v, want sub alice, iss users, act users, aud admin", s)
		}

		// A service that signs with another secret is not trusted.
		forged, _ := keys.New(keys.HS256, []byte("not the shared secret, though long enough"))
		bad, err := relay.NewMint(relay.MintConfig{Service: "users", Key: forged, Audience: "admin"})
		if err != nil {
			t.Fatal(err)
		}
		a2 := guardedA(t, aVerifier, transportClient(t, bad), admin)
		if status, h, body := callA(t, a2, caller, http.MethodGet, "/profiles/1"); status != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
			t.Fatalf("token minted with another secret: %d %s, want 401 with WWW-Authenticate", status, body)
		}
	})

	t.Run("no token reaches nobody", func(t *testing.T) {
		a := guardedA(t, aVerifier, transportClient(t, relay.Relay{}), b)
		before := bHits.Load()
		status, h, _ := callA(t, a, "", http.MethodGet, "/profiles/1")
		if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Fatalf("A without a token: %d %q, want 401 Bearer challenge", status, h.Get("WWW-Authenticate"))
		}
		if bHits.Load() != before {
			t.Fatal("a request without a token reached B")
		}
	})
}
