package relay_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/relay"
)

func newClientCredentials(t testing.TB, e *authEnv, mutate ...func(*relay.ClientCredentialsConfig)) *relay.ClientCredentials {
	t.Helper()
	cfg := relay.ClientCredentialsConfig{
		OAuth2:   clientcredentials.Config{ClientID: "users", ClientSecret: usersSecret, TokenURL: e.tokenURL, Scopes: []string{"profile:read"}},
		Audience: "profiles",
	}
	for _, m := range mutate {
		m(&cfg)
	}
	cc, err := relay.NewClientCredentials(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

func TestClientCredentials(t *testing.T) {
	e := newAuthEnv(t)
	b := newDownstream(t, e.verifier(t, "profiles"))
	tr, err := relay.NewTransport(http.DefaultTransport, newClientCredentials(t, e))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: tr}
	for range 3 {
		// No user in the context: this mode does not need one.
		if status, _, err := get(t, context.Background(), client, b.URL); err != nil || status != http.StatusOK {
			t.Fatalf("%d %v", status, err)
		}
	}
	c := b.last(t)
	if c.Subject != "users" || c.ClientID != "users" || !c.Audience.Contains("profiles") || c.Scope != "profile:read" || c.Actor != nil {
		t.Fatalf("B saw sub=%q client_id=%q aud=%v scope=%q act=%+v", c.Subject, c.ClientID, c.Audience, c.Scope, c.Actor)
	}
	if got := e.tokenHits.Load(); got != 1 {
		t.Fatalf("3 calls made %d token requests, want 1 (cached)", got)
	}
}

// TestClientCredentialsSingleFlight: 50 goroutines ask at once, one token
// request is made.
func TestClientCredentialsSingleFlight(t *testing.T) {
	e := newAuthEnv(t)
	cc := newClientCredentials(t, e)
	var wg sync.WaitGroup
	start := make(chan struct{})
	toks := make([]string, 50)
	errs := make([]error, 50)
	for i := range toks {
		wg.Go(func() {
			<-start
			toks[i], errs[i] = cc.Token(context.Background())
		})
	}
	close(start)
	wg.Wait()
	for i := range toks {
		if errs[i] != nil || toks[i] == "" || toks[i] != toks[0] {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
	}
	if got := e.tokenHits.Load(); got != 1 {
		t.Fatalf("50 goroutines made %d token requests, want 1", got)
	}
}

// TestClientCredentialsRenewsBeforeExpiry: once within RenewBefore of the
// expiry, the next call gets a new token; before that, none.
func TestClientCredentialsRenewsBeforeExpiry(t *testing.T) {
	e := newAuthEnv(t)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	cc := newClientCredentials(t, e, func(c *relay.ClientCredentialsConfig) { c.Now = now; c.RenewBefore = time.Minute })
	first, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(13 * time.Minute)) // the token lives 15 minutes
	if tok, _ := cc.Token(context.Background()); tok != first || e.tokenHits.Load() != 1 {
		t.Fatal("renewed too early")
	}
	offset.Store(int64(14*time.Minute + 10*time.Second))
	second, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if second == first || e.tokenHits.Load() != 2 {
		t.Fatalf("not renewed within RenewBefore of the expiry (%d requests)", e.tokenHits.Load())
	}
}

// TestClientCredentialsRetryOn401: a 401 from downstream gets one retry
// with a fresh token, when the body can be sent again.
func TestClientCredentialsRetryOn401(t *testing.T) {
	e := newAuthEnv(t)
	b := newDownstream(t, e.verifier(t, "profiles"))
	var firstToken atomic.Value
	b.reject = func(raw string) bool { // refuses the first token it sees, as after a key rotation
		firstToken.CompareAndSwap(nil, raw)
		return firstToken.Load() == raw
	}
	tr, _ := relay.NewTransport(http.DefaultTransport, newClientCredentials(t, e))
	client := &http.Client{Transport: tr}

	status, _, err := get(t, context.Background(), client, b.URL)
	if err != nil || status != http.StatusOK {
		t.Fatalf("%d %v", status, err)
	}
	if b.hits.Load() != 2 || e.tokenHits.Load() != 2 {
		t.Fatalf("downstream hits %d, token requests %d; want 2 and 2", b.hits.Load(), e.tokenHits.Load())
	}

	t.Run("a replayable body is sent again", func(t *testing.T) {
		b.hits.Store(0)
		b.mu.Lock()
		b.reject = func(string) bool { return b.hits.Load() == 1 }
		b.mu.Unlock()
		b.mu.Lock()
		b.bodies = nil
		b.mu.Unlock()
		resp, err := client.Post(b.URL, "text/plain", strings.NewReader("payload"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		b.mu.Lock()
		bodies := b.bodies
		b.mu.Unlock()
		if resp.StatusCode != http.StatusOK || len(bodies) != 2 || bodies[0] != "payload" || bodies[1] != "payload" {
			t.Fatalf("status %d, bodies %q", resp.StatusCode, bodies)
		}
	})
	t.Run("a body that cannot be replayed is not retried", func(t *testing.T) {
		b.hits.Store(0)
		req, _ := http.NewRequest(http.MethodPost, b.URL, io.NopCloser(strings.NewReader("stream")))
		if req.GetBody != nil {
			t.Fatal("test needs a body without GetBody")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || b.hits.Load() != 1 {
			t.Fatalf("status %d after %d hits; want the 401 after 1", resp.StatusCode, b.hits.Load())
		}
	})
	t.Run("only one retry", func(t *testing.T) {
		b.hits.Store(0)
		b.mu.Lock()
		b.reject = func(string) bool { return true }
		b.mu.Unlock()
		status, _, err := get(t, context.Background(), client, b.URL)
		if err != nil || status != http.StatusUnauthorized || b.hits.Load() != 2 {
			t.Fatalf("status %d after %d hits, %v; want 401 after 2", status, b.hits.Load(), err)
		}
	})
}

func TestClientCredentialsRefused(t *testing.T) {
	e := newAuthEnv(t)
	cc := newClientCredentials(t, e, func(c *relay.ClientCredentialsConfig) { c.OAuth2.ClientSecret = "wrong-secret-0123456789" })
	_, err := cc.Token(context.Background())
	var te *relay.TokenError
	if !errors.As(err, &te) || te.Code != "invalid_client" || te.StatusCode != http.StatusBadRequest {
		t.Fatalf("got %v, want a TokenError invalid_client", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-0123456789") {
		t.Fatal("the error contains the secret")
	}
	cc = newClientCredentials(t, e, func(c *relay.ClientCredentialsConfig) { c.Audience = "billing" })
	if _, err := cc.Token(context.Background()); !errors.As(err, &te) || te.Code != "invalid_target" {
		t.Fatalf("got %v, want invalid_target", err)
	}
}

func TestNewClientCredentialsRefusesBadConfig(t *testing.T) {
	good := clientcredentials.Config{ClientID: "a", ClientSecret: "s", TokenURL: "https://auth.example/oauth2/token"}
	for name, cfg := range map[string]relay.ClientCredentialsConfig{
		"no token URL":       {OAuth2: clientcredentials.Config{ClientID: "a", ClientSecret: "s"}},
		"no client id":       {OAuth2: clientcredentials.Config{ClientSecret: "s", TokenURL: good.TokenURL}},
		"no secret":          {OAuth2: clientcredentials.Config{ClientID: "a", TokenURL: good.TokenURL}},
		"negative renewal":   {OAuth2: good, RenewBefore: -time.Second},
		"audiences disagree": {OAuth2: clientcredentials.Config{ClientID: "a", ClientSecret: "s", TokenURL: good.TokenURL, EndpointParams: map[string][]string{"audience": {"x"}}}, Audience: "y"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := relay.NewClientCredentials(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func clientCredentialsConfig(tokenURL string) clientcredentials.Config {
	return clientcredentials.Config{ClientID: "a", ClientSecret: "s", TokenURL: tokenURL}
}
