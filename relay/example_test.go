package relay_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2/clientcredentials"
	"golang.org/x/sync/errgroup"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
)

// A handler fans out to the profiles service from goroutines of an errgroup
// started with the request's context: every call carries the caller's token,
// with nothing to copy (the "thread context" of Java frameworks).
func Example_fanOut() {
	// The auth server and the profiles service, which checks every token.
	key, _ := keys.Generate(keys.ES256)
	issuer, _ := token.NewIssuer("https://auth.example", key)
	ks, _ := keys.NewStatic(key)
	verifier, _ := token.NewVerifier(ks, "https://auth.example", "profiles")
	profiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := verifier.Verify(r.Context(), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "%s as seen by %s", r.URL.Path, c.Subject)
	}))
	defer profiles.Close()

	// Built once at start-up: relay the caller's token.
	t, _ := relay.NewTransport(http.DefaultTransport, relay.Relay{})
	client := &http.Client{Transport: t}

	// The request context, as the guard leaves it for the handler.
	raw, _ := issuer.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{"profiles"}})
	claims, _ := verifier.Verify(context.Background(), raw)
	requestCtx := token.NewContext(context.Background(), raw, claims)

	// The handler's fan-out.
	ids := []string{"1", "2", "3", "4", "5"}
	answers := make([]string, len(ids))
	g, ctx := errgroup.WithContext(requestCtx)
	for i, id := range ids {
		g.Go(func() error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, profiles.URL+"/profiles/"+id, nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			answers[i] = string(b)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range answers {
		fmt.Println(a)
	}

	// A goroutine given a context without the caller's token sends nothing.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, profiles.URL+"/profiles/6", nil)
	_, err := client.Do(req)
	fmt.Println(err != nil && strings.Contains(err.Error(), relay.ErrNoToken.Error()))
	// Output:
	// /profiles/1 as seen by alice
	// /profiles/2 as seen by alice
	// /profiles/3 as seen by alice
	// /profiles/4 as seen by alice
	// /profiles/5 as seen by alice
	// true
}

// Service accounts calls admin for a user with a short-lived token of its
// own, signed with a secret the two services share (accounts → admin).
func ExampleNewMint() {
	secret, _ := keys.New(keys.HS256, []byte("a shared secret of 32 bytes or more!"))
	mint, _ := relay.NewMint(relay.MintConfig{Service: "accounts", Key: secret, Audience: "admin"})

	// The admin service verifies HS256 tokens of issuer accounts.
	ks, _ := keys.NewStatic(secret)
	verifier, _ := token.NewVerifier(ks, "accounts", "admin", token.WithAlgorithms(keys.HS256))

	// In accounts, the request context of a verified caller.
	ctx := token.NewContext(context.Background(), "the-caller's-token", &token.Claims{Subject: "account-42", Groups: []string{"admin"}})
	raw, err := mint.Token(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := verifier.Verify(context.Background(), raw)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Subject, c.Audience, c.InGroup("admin"), c.Actor.Subject, c.ExpiresAt.Time().Sub(c.IssuedAt.Time()))
	// Output: account-42 [admin] true accounts 30s
}

// Service A's own token, for calls made without a user (a batch job).
func ExampleNewClientCredentials() {
	src, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
		OAuth2: clientcredentials.Config{
			ClientID:     "reports",
			ClientSecret: os.Getenv("REPORTS_CLIENT_SECRET"),
			TokenURL:     "https://auth.example/oauth2/token",
			Scopes:       []string{"profile:read"},
		},
		// The downstream service: the aud of the token.
		Audience: "profiles",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	t, err := relay.NewTransport(http.DefaultTransport, src, relay.WithRetries(3))
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: t, Timeout: 30 * time.Second}
	resp, err := client.Get("https://profiles.example/stats")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
}

// The outbound client of a service, built once at start-up: the token
// layer relays the caller's token (relay.Relay), over the resilience layer
// (a timeout per attempt, retries of idempotent calls, a breaker per
// host), over http.DefaultTransport (nil).
func ExampleNewTransport() {
	var calls atomic.Int64
	profiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "warming up", http.StatusServiceUnavailable) // retried: a GET is idempotent
			return
		}
		fmt.Fprintf(w, "profile 42, asked with %q", r.Header.Get("Authorization"))
	}))
	defer profiles.Close()

	t, err := relay.NewTransport(nil, relay.Relay{},
		relay.WithTimeout(2*time.Second), relay.WithRetries(2), relay.WithBreaker(5, 30*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: t, Timeout: 10 * time.Second}

	// In a handler behind the guard, the request's context carries the
	// caller's token (token.NewContext stands in for the guard here).
	ctx := token.NewContext(context.Background(), "the-caller's-token", nil)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, profiles.URL+"/profiles/42", nil)
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body), "after", calls.Load(), "requests")

	// Without a caller token, nothing is sent.
	req, _ = http.NewRequestWithContext(context.Background(), http.MethodGet, profiles.URL+"/profiles/42", nil)
	_, err = client.Do(req)
	fmt.Println(errors.Is(err, relay.ErrNoToken), calls.Load(), "requests")
	// Output:
	// 200 profile 42, asked with "Bearer the-caller's-token" after 2 requests
	// true 2 requests
}

// The resilience layer on its own, for calls that carry no token: a
// failing host is retried, then its breaker opens and calls fail fast.
func ExampleNewResilient() {
	var calls atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	r, err := relay.NewResilient(nil, relay.WithRetries(1), relay.WithBackoff(10*time.Millisecond, 10*time.Millisecond, 0),
		relay.WithBreaker(2, time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: r, Timeout: 10 * time.Second}
	for range 3 {
		resp, err := client.Get(down.URL + "/status")
		if err != nil {
			fmt.Println(errors.Is(err, relay.ErrCircuitOpen))
			continue
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	fmt.Println("requests:", calls.Load())
	// Output:
	// 503
	// true
	// true
	// requests: 2
}
