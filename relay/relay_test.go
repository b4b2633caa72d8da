package relay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// callerContext is what the guard leaves in a request context: a verified
// token of iss and its claims.
func callerContext(t testing.TB, iss *tokentest.Issuer, c token.Claims) (context.Context, string) {
	t.Helper()
	raw := iss.Token(c)
	claims, err := iss.Verifier().Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return token.NewContext(context.Background(), raw, claims), raw
}

func relayClient(t testing.TB, src relay.Source, opts ...relay.Option) *http.Client {
	t.Helper()
	tr, err := relay.NewTransport(http.DefaultTransport, src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr}
}

func TestRelayPassesTheCallerToken(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("profiles"))
	b := newDownstream(t, iss.Verifier())
	ctx, raw := callerContext(t, iss, token.Claims{Subject: "alice"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.URL, nil)
	req.Header.Set("Authorization", "Bearer incoming-credential")
	resp, err := relayClient(t, relay.Relay{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || b.firstRaw(t) != raw || b.last(t).Subject != "alice" {
		t.Fatalf("status %d; downstream got another token", resp.StatusCode)
	}
	if req.Header.Get("Authorization") != "Bearer incoming-credential" {
		t.Fatal("the caller's request was modified")
	}
}

func TestRelayWithoutTokenSendsNothing(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("profiles"))
	b := newDownstream(t, iss.Verifier())
	client := relayClient(t, relay.Relay{})
	body := &trackedBody{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, b.URL, body)
	req.Header.Set("Authorization", "Bearer incoming-credential")
	_, err := client.Do(req)
	if !errors.Is(err, relay.ErrNoToken) {
		t.Fatalf("got %v, want ErrNoToken", err)
	}
	if b.hits.Load() != 0 {
		t.Fatal("a request was sent without a token")
	}
	if !body.closed.Load() {
		t.Fatal("the request body was not closed")
	}
	// A token that expires within the skew is not sent either.
	expiring := &token.Claims{Subject: "alice", ExpiresAt: token.At(time.Now().Add(2 * time.Second))}
	ctx := token.NewContext(context.Background(), iss.Token(token.Claims{Subject: "alice", ExpiresAt: expiring.ExpiresAt}), expiring)
	if _, _, err := get(t, ctx, client, b.URL); !errors.Is(err, relay.ErrTokenExpired) {
		t.Fatalf("got %v, want ErrTokenExpired", err)
	}
	if b.hits.Load() != 0 {
		t.Fatal("a request was sent with an expiring token")
	}
}

// TestUserModesRefuseExpiringTokens: every mode that acts for the caller
// refuses a token that expires within the skew, before sending anything.
func TestUserModesRefuseExpiringTokens(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	key, err := keys.Generate(keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	mint, err := relay.NewMint(relay.MintConfig{Service: "users", Key: key, Audience: "profiles", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	exchange, err := relay.NewExchange(relay.ExchangeConfig{TokenURL: "http://127.0.0.1:1/oauth2/token", ClientID: "users",
		ClientSecret: usersSecret, Audience: "profiles", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]relay.Source{"relay": relay.Relay{Now: clock}, "mint": mint, "exchange": exchange}
	for _, tt := range []struct {
		name   string
		expIn  time.Duration
		source relay.Source
		want   error
	}{
		{"expires in 3s (skew 5s)", 3 * time.Second, nil, relay.ErrTokenExpired},
		{"expires now", 0, nil, relay.ErrTokenExpired},
		{"expired", -time.Minute, nil, relay.ErrTokenExpired},
		{"expires in 3s with a 1s skew", 3 * time.Second, relay.Relay{Now: clock, Skew: time.Second}, nil},
		{"expires in a minute", time.Minute, relay.Relay{Now: clock}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &token.Claims{Subject: "alice", ID: "jti-1", ExpiresAt: token.At(now.Add(tt.expIn))}
			ctx := token.NewContext(context.Background(), "caller.token.value", c)
			srcs := sources
			if tt.source != nil {
				srcs = map[string]relay.Source{"custom": tt.source}
			}
			for name, src := range srcs {
				_, err := src.Token(ctx)
				if !errors.Is(err, tt.want) {
					t.Fatalf("%s: got %v, want %v", name, err, tt.want)
				}
				if err != nil && (strings.Contains(err.Error(), "caller.token.value") || !strings.Contains(err.Error(), "jti-1")) {
					t.Fatalf("%s: error %q must name the jti, never the token", name, err)
				}
			}
		})
	}
}

// TestFanOutCarriesTheToken: 50 goroutines of an errgroup started from
// one request context all call with the caller's token.
func TestFanOutCarriesTheToken(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("profiles"))
	b := newDownstream(t, iss.Verifier())
	client := relayClient(t, relay.Relay{})
	var fromA atomic.Int64
	a := newTestServer(t, inbound(iss.Verifier(), func(w http.ResponseWriter, r *http.Request) {
		g, ctx := errgroup.WithContext(r.Context())
		for range 50 {
			g.Go(func() error {
				status, _, err := get(t, ctx, client, b.URL)
				if err == nil && status != http.StatusOK {
					return errors.New(http.StatusText(status))
				}
				fromA.Add(1)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}))
	raw := iss.Token(token.Claims{Subject: "alice"})
	req, _ := http.NewRequest(http.MethodGet, a.URL, nil)
	req.Header.Set("Authorization", "Bearer "+raw)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || fromA.Load() != 50 || b.hits.Load() != 50 {
		t.Fatalf("status %d, %d calls, %d reached B", resp.StatusCode, fromA.Load(), b.hits.Load())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, got := range b.raws {
		if got != raw {
			t.Fatalf("call %d carried another token", i)
		}
	}
	// A goroutine not started from the request context has no token.
	if _, _, err := get(t, context.Background(), client, b.URL); !errors.Is(err, relay.ErrNoToken) {
		t.Fatalf("got %v, want ErrNoToken", err)
	}
}
