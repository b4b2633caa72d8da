package authserver_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/internal/pgtest"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// TestRotationWithTwoAuthServersRefusesNothing is the scale-out shape:
// two auth servers on one PostgreSQL store, each reloading on its own
// schedule, and a verifier (what a gateway or guard runs) that fetches the
// JWKS from the first only. Under load, tokens from both servers go to the
// verifier while `keys rotate` runs against the store: no valid token is
// refused, and the new key is used.
func TestRotationWithTwoAuthServersRefusesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := postgres.Open(ctx, pgtest.SchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.CreateClient(ctx, &identity.Client{ID: "svc", SecretHash: mustHash(t, svcSecret),
		Grants: []string{identity.GrantClientCredentials}, Scopes: []string{"accounts:read"}, Audiences: []string{"accounts"}}); err != nil {
		t.Fatal(err)
	}
	// The verifier caches the JWKS for 1s (as it would for the 5 minutes
	// the JWKS's max-age says), refetching at most every 200ms (10s by
	// default); publishing ahead by more than the reload plus that cache
	// age means it has the key before any token has its kid.
	// The first server reloads less often than the second, which learns
	// of a new key up to a second earlier.
	const (
		slowReload, fastReload = 1500 * time.Millisecond, 500 * time.Millisecond
		cacheAge               = time.Second
		ahead                  = slowReload + cacheAge + 500*time.Millisecond
	)
	start := func(reload time.Duration) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + ln.Addr().String()
		srv, err := authserver.New(ctx, authserver.Config{Issuer: "http://gatehouse.test", Store: store, KeyReload: reload, KeyPublishAhead: ahead})
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		t.Cleanup(func() { hs.Close() })
		return base
	}
	a, b := start(slowReload), start(fastReload)
	src, err := keys.NewRemote(a+"/.well-known/jwks.json", keys.WithHTTPClient(&http.Client{Timeout: 5 * time.Second}),
		keys.WithCacheAge(cacheAge, cacheAge, cacheAge), keys.WithRefetchInterval(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	v, err := token.NewVerifier(src, "http://gatehouse.test", "accounts", token.WithCacheSize(0))
	if err != nil {
		t.Fatal(err)
	}
	oldKid := currentKid(t, a)

	var verified, refused atomic.Int64
	var newKidSeen atomic.Bool
	var firstRefusal atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, issuer := range []string{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				tok := fetchClientToken(t, client, issuer)
				if tok == "" {
					return
				}
				if _, err := v.Verify(ctx, tok); err != nil {
					refused.Add(1)
					firstRefusal.CompareAndSwap(nil, err.Error())
					continue
				}
				verified.Add(1)
				if kid := headerKid(t, tok); kid != oldKid {
					newKidSeen.Store(true)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // load before the rotation
	kid, signFrom, err := authserver.RotateKey(ctx, store, keys.ES256, time.Now(), ahead)
	if err != nil {
		t.Fatal(err)
	}
	if until := time.Until(signFrom); until < ahead-time.Second || until > ahead {
		t.Errorf("the new key signs from %s, %s from now; want %s ahead", signFrom, until, ahead)
	}
	time.Sleep(ahead + 2*slowReload) // through the switch, on both servers
	close(stop)
	wg.Wait()
	t.Logf("verified %d tokens, refused %d, new key %s used: %v", verified.Load(), refused.Load(), kid, newKidSeen.Load())
	if n := refused.Load(); n > 0 {
		t.Fatalf("%d valid tokens refused during the rotation; the first: %v", n, firstRefusal.Load())
	}
	if !newKidSeen.Load() {
		t.Fatal("no token was signed with the new key after its SignFrom")
	}
	if verified.Load() < 50 {
		t.Fatalf("only %d tokens verified: too little load to mean anything", verified.Load())
	}
}

// fetchClientToken gets a client_credentials token of svc from issuer, or
// "" after reporting the failure.
func fetchClientToken(t *testing.T, client *http.Client, issuer string) string {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts:read"}}
	req, _ := http.NewRequest(http.MethodPost, issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", svcSecret)
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil {
		t.Errorf("token from %s: %d", issuer, resp.StatusCode)
		return ""
	}
	return body.AccessToken
}

// currentKid is the kid the server at issuer signs with now.
func currentKid(t *testing.T, issuer string) string {
	t.Helper()
	tok := fetchClientToken(t, &http.Client{Timeout: 5 * time.Second}, issuer)
	if tok == "" {
		t.FailNow()
	}
	return headerKid(t, tok)
}

func headerKid(t *testing.T, raw string) string {
	h, _, err := token.ParseUnverified(raw)
	var header struct {
		Kid string `json:"kid"`
	}
	if err == nil {
		err = json.Unmarshal(h, &header)
	}
	if err != nil {
		t.Error(err)
		return ""
	}
	return header.Kid
}
