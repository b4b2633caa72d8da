package relay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
)

// scriptedHost is a downstream service in memory whose answer to the nth
// request (from 1) with bearer tok is status(n, tok); it records the
// tokens it saw.
type scriptedHost struct {
	status func(n int, tok string) int
	mu     sync.Mutex
	tokens []string
}

func (h *scriptedHost) RoundTrip(r *http.Request) (*http.Response, error) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	h.mu.Lock()
	h.tokens = append(h.tokens, tok)
	n := len(h.tokens)
	h.mu.Unlock()
	return answer(r, h.status(n, tok), "answer"), nil
}

func (h *scriptedHost) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.tokens...)
}

// failTwiceThen answers 503 to the first two requests, then valid's
// verdict: 200 or 401.
func failTwiceThen(valid func(tok string) bool) func(int, string) int {
	return func(n int, tok string) int {
		switch {
		case n <= 2:
			return http.StatusServiceUnavailable
		case !valid(tok):
			return http.StatusUnauthorized
		}
		return http.StatusOK
	}
}

// slowRetries: two retries 3s apart, so that the third attempt comes 6s
// after the first.
func slowRetries() []relay.Option {
	return []relay.Option{relay.WithRetries(2), relay.WithBackoff(3*time.Second, 3*time.Second, 0)}
}

// TestLayerOrder: the resilience layer's retries (after a 5xx) resend the
// token they were given; a 401 comes back up to the token layer, which
// renews and sends once more, through the resilience layer again.
func TestLayerOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &scriptedHost{status: func(n int, tok string) int {
			switch {
			case n == 1:
				return http.StatusServiceUnavailable
			case tok != "t2":
				return http.StatusUnauthorized
			}
			return http.StatusOK
		}}
		src := &staticSource{tokens: []string{"t1", "t2"}}
		tr, err := relay.NewTransport(h, src, relay.WithRetries(2))
		if err != nil {
			t.Fatal(err)
		}
		status, _, err := get(t, t.Context(), &http.Client{Transport: tr}, "http://b.test/")
		if err != nil || status != http.StatusOK {
			t.Fatalf("%d %v", status, err)
		}
		if got := fmt.Sprint(h.seen()); got != "[t1 t1 t2]" {
			t.Fatalf("the host saw tokens %s, want [t1 t1 t2]: 503 retried with t1, 401 renewed to t2", got)
		}
	})
}

// TestTokenExpiresMidTransaction: a token that expires while the
// resilience layer retries (the third attempt comes 6s after the first)
// is renewed transparently by the sources that can (client credentials,
// mint), and is a clear ErrTokenExpired for the caller's own token
// (relay); never a hang.
func TestTokenExpiresMidTransaction(t *testing.T) {
	t.Run("client credentials renews", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var mu sync.Mutex
			expiry := map[string]time.Time{}
			endpoint := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				mu.Lock()
				defer mu.Unlock()
				tok := fmt.Sprintf("cc-%d", len(expiry)+1)
				expiry[tok] = time.Now().Add(5 * time.Second)
				resp := answer(r, http.StatusOK, `{"access_token":"`+tok+`","token_type":"Bearer","expires_in":5}`)
				resp.Header.Set("Content-Type", "application/json")
				return resp, nil
			})
			cc, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
				OAuth2:     clientcredentials.Config{ClientID: "users", ClientSecret: usersSecret, TokenURL: "http://auth.test/oauth2/token"},
				HTTPClient: &http.Client{Transport: endpoint},
			})
			if err != nil {
				t.Fatal(err)
			}
			h := &scriptedHost{status: failTwiceThen(func(tok string) bool {
				mu.Lock()
				defer mu.Unlock()
				return time.Now().Before(expiry[tok])
			})}
			tr, _ := relay.NewTransport(h, cc, slowRetries()...)
			start := time.Now()
			status, _, err := get(t, context.Background(), &http.Client{Transport: tr}, "http://b.test/")
			if err != nil || status != http.StatusOK {
				t.Fatalf("%d %v, want a transparent renewal", status, err)
			}
			if got := fmt.Sprint(h.seen()); got != "[cc-1 cc-1 cc-1 cc-2]" || time.Since(start) != 6*time.Second {
				t.Fatalf("the host saw %s in %s; want [cc-1 cc-1 cc-1 cc-2] in 6s", got, time.Since(start))
			}
		})
	})
	t.Run("mint mints again", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			key, err := keys.Generate(keys.ES256)
			if err != nil {
				t.Fatal(err)
			}
			mint, err := relay.NewMint(relay.MintConfig{Service: "users", Key: key, Audience: "profiles", TTL: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			ks, _ := keys.NewStatic(key)
			v, _ := token.NewVerifier(ks, "users", "profiles", token.WithLeeway(0), token.WithCacheSize(0))
			h := &scriptedHost{status: failTwiceThen(func(tok string) bool {
				_, err := v.Verify(context.Background(), tok)
				return err == nil
			})}
			tr, _ := relay.NewTransport(h, mint, slowRetries()...)
			ctx := token.NewContext(context.Background(), "caller", &token.Claims{Subject: "alice", ExpiresAt: token.At(time.Now().Add(time.Hour))})
			status, _, err := get(t, ctx, &http.Client{Transport: tr}, "http://b.test/")
			if err != nil || status != http.StatusOK {
				t.Fatalf("%d %v, want a transparent renewal", status, err)
			}
			if seen := h.seen(); len(seen) != 4 || seen[2] != seen[0] || seen[3] == seen[0] {
				t.Fatalf("the host saw %d requests; want 4, the last with a new token", len(seen))
			}
		})
	})
	t.Run("relay is a clear error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			exp := time.Now().Add(6 * time.Second) // beyond the 5s skew at the start
			h := &scriptedHost{status: failTwiceThen(func(string) bool { return time.Now().Before(exp) })}
			tr, _ := relay.NewTransport(h, relay.Relay{}, slowRetries()...)
			ctx := token.NewContext(context.Background(), "caller.token", &token.Claims{ID: "jti-7", Subject: "alice", ExpiresAt: token.At(exp)})
			start := time.Now()
			_, _, err := get(t, ctx, &http.Client{Transport: tr}, "http://b.test/")
			if !errors.Is(err, relay.ErrTokenExpired) || strings.Contains(err.Error(), "caller.token") {
				t.Fatalf("got %v, want ErrTokenExpired naming no token", err)
			}
			if len(h.seen()) != 3 || time.Since(start) != 6*time.Second {
				t.Fatalf("%d requests in %s; want 3 in 6s", len(h.seen()), time.Since(start))
			}
		})
	})
}
