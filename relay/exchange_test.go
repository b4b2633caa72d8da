package relay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
)

// TestExchangeEndToEnd: alice calls A with a token for A; A calls B through
// an exchanging transport; B sees a token for B, alice as sub, A as act,
// the narrowed scope; exchanged tokens are cached per (token, audience,
// scope).
func TestExchangeEndToEnd(t *testing.T) {
	e := newAuthEnv(t)
	b := newDownstream(t, e.verifier(t, "profiles"))
	src, err := relay.NewExchange(relay.ExchangeConfig{TokenURL: e.tokenURL, ClientID: "users", ClientSecret: usersSecret,
		Audience: "profiles", Scopes: []string{"profile:read"}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := relay.NewTransport(http.DefaultTransport, src)
	if err != nil {
		t.Fatal(err)
	}
	toB := &http.Client{Transport: tr}
	// Service A: behind the inbound check, calls B with the request context;
	// ?scope= narrows the call.
	a := newTestServer(t, inbound(e.verifier(t, "users"), func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if s := r.URL.Query().Get("scope"); s != "" {
			ctx = relay.ScopedContext(ctx, s)
		}
		status, body, err := get(t, ctx, toB, b.URL+"/profiles/alice")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	raw, _ := e.userToken(t, "users", "profile:read profile:write")
	e.tokenHits.Store(0)
	call := func(query string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, a.URL+"/"+query, nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("A answered %d", resp.StatusCode)
		}
	}

	call("")
	c := b.last(t)
	if !c.Audience.Contains("profiles") || c.Subject != e.alice.ID || c.Scope != "profile:read" || c.ClientID != "users" {
		t.Fatalf("B saw aud=%v sub=%q scope=%q client_id=%q", c.Audience, c.Subject, c.Scope, c.ClientID)
	}
	if c.Actor == nil || c.Actor.Subject != "users" {
		t.Fatalf("B saw act=%+v, want the calling client users", c.Actor)
	}
	if c.Org != "acme" || !c.InGroup("admin") {
		t.Fatal("user claims lost in the exchange")
	}
	if b.firstRaw(t) == raw {
		t.Fatal("B received the caller's own token")
	}

	call("")
	call("")
	if got := e.tokenHits.Load(); got != 1 {
		t.Fatalf("3 calls made %d exchanges, want 1 (cached)", got)
	}
	call("?scope=profile:write")
	if c := b.last(t); c.Scope != "profile:write" {
		t.Fatalf("narrowed call: scope %q", c.Scope)
	}
	call("?scope=profile:write")
	if got := e.tokenHits.Load(); got != 2 {
		t.Fatalf("another scope: %d exchanges, want 2", got)
	}
}

// TestExchangeSingleFlight: many goroutines with one caller token make one
// exchange.
func TestExchangeSingleFlight(t *testing.T) {
	e := newAuthEnv(t)
	src, err := relay.NewExchange(relay.ExchangeConfig{TokenURL: e.tokenURL, ClientID: "users", ClientSecret: usersSecret, Audience: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	raw, claims := e.userToken(t, "users", "admin:read")
	ctx := token.NewContext(context.Background(), raw, claims)
	e.tokenHits.Store(0)
	var wg sync.WaitGroup
	start := make(chan struct{})
	toks := make([]string, 30)
	errs := make([]error, 30)
	for i := range toks {
		wg.Go(func() {
			<-start
			toks[i], errs[i] = src.Token(ctx)
		})
	}
	close(start)
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] != toks[0] {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
	}
	if got := e.tokenHits.Load(); got != 1 {
		t.Fatalf("%d exchanges, want 1", got)
	}
	c, err := e.verifier(t, "admin").Verify(ctx, toks[0])
	if err != nil || c.Scope != "admin:read" || c.Actor == nil || c.Actor.Subject != "users" {
		t.Fatalf("exchanged token: %v %+v", err, c)
	}
}

func TestExchangeRefusals(t *testing.T) {
	e := newAuthEnv(t)
	b := newDownstream(t, e.verifier(t, "profiles"))
	forA, forAClaims := e.userToken(t, "users", "profile:read")
	notForA, notForAClaims := e.userToken(t, "elsewhere", "profile:read")
	for _, tt := range []struct {
		name     string
		cfg      relay.ExchangeConfig
		raw      string
		claims   *token.Claims
		wantCode string
	}{
		{"subject token not issued for the client", relay.ExchangeConfig{Audience: "profiles"}, notForA, notForAClaims, "invalid_grant"},
		{"audience not allowed for the client", relay.ExchangeConfig{Audience: "billing"}, forA, forAClaims, "invalid_target"},
		{"scope not held", relay.ExchangeConfig{Audience: "profiles", Scopes: []string{"admin:read"}}, forA, forAClaims, "invalid_scope"},
		{"wrong client secret", relay.ExchangeConfig{Audience: "profiles", ClientSecret: "wrong-secret-0123456789"}, forA, forAClaims, "invalid_client"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.TokenURL, cfg.ClientID = e.tokenURL, "users"
			if cfg.ClientSecret == "" {
				cfg.ClientSecret = usersSecret
			}
			src, err := relay.NewExchange(cfg)
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := relay.NewTransport(http.DefaultTransport, src)
			before := b.hits.Load()
			_, _, err = get(t, token.NewContext(context.Background(), tt.raw, tt.claims), &http.Client{Transport: tr}, b.URL)
			var te *relay.TokenError
			if !errors.As(err, &te) || te.Code != tt.wantCode {
				t.Fatalf("error %v, want a TokenError %s", err, tt.wantCode)
			}
			if strings.Contains(err.Error(), tt.raw) || strings.Contains(err.Error(), cfg.ClientSecret) {
				t.Fatal("the error contains the token or the secret")
			}
			if b.hits.Load() != before {
				t.Fatal("a request was sent without an exchanged token")
			}
		})
	}
	t.Run("no caller token", func(t *testing.T) {
		src, _ := relay.NewExchange(relay.ExchangeConfig{TokenURL: e.tokenURL, ClientID: "users", ClientSecret: usersSecret, Audience: "profiles"})
		if _, err := src.Token(context.Background()); !errors.Is(err, relay.ErrNoToken) {
			t.Fatalf("got %v, want ErrNoToken", err)
		}
	})
}

func TestNewExchangeRefusesBadConfig(t *testing.T) {
	good := relay.ExchangeConfig{TokenURL: "https://auth.example/oauth2/token", ClientID: "a", ClientSecret: "s", Audience: "b"}
	for name, mutate := range map[string]func(*relay.ExchangeConfig){
		"relative token URL": func(c *relay.ExchangeConfig) { c.TokenURL = "/oauth2/token" },
		"no client id":       func(c *relay.ExchangeConfig) { c.ClientID = "" },
		"no secret":          func(c *relay.ExchangeConfig) { c.ClientSecret = "" },
		"no audience":        func(c *relay.ExchangeConfig) { c.Audience = "" },
		"negative skew":      func(c *relay.ExchangeConfig) { c.Skew = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			mutate(&cfg)
			if _, err := relay.NewExchange(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := relay.NewExchange(good); err != nil {
		t.Fatal(err)
	}
}

// TestExchangeRenewsOn401: a cached exchanged token that the downstream
// refuses (revoked, keys rotated) is exchanged again, once.
func TestExchangeRenewsOn401(t *testing.T) {
	e := newAuthEnv(t)
	b := newDownstream(t, e.verifier(t, "profiles"))
	var first string
	b.reject = func(raw string) bool {
		if first == "" {
			first = raw
		}
		return raw == first
	}
	src, _ := relay.NewExchange(relay.ExchangeConfig{TokenURL: e.tokenURL, ClientID: "users", ClientSecret: usersSecret, Audience: "profiles"})
	raw, claims := e.userToken(t, "users", "profile:read")
	e.tokenHits.Store(0)
	ctx := token.NewContext(context.Background(), raw, claims)
	status, _, err := get(t, ctx, relayClient(t, src), b.URL)
	if err != nil || status != http.StatusOK {
		t.Fatalf("%d %v", status, err)
	}
	if b.hits.Load() != 2 || e.tokenHits.Load() != 2 {
		t.Fatalf("downstream hits %d, exchanges %d; want 2 and 2", b.hits.Load(), e.tokenHits.Load())
	}
	// The fresh token is the one cached now.
	if _, _, err := get(t, ctx, relayClient(t, src), b.URL); err != nil || e.tokenHits.Load() != 2 {
		t.Fatalf("%v; %d exchanges", err, e.tokenHits.Load())
	}
}
