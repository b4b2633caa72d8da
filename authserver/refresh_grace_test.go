package authserver_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
)

// refresh posts a refresh grant of cli and returns the status and body.
func refresh(t *testing.T, e *env, rt string) (int, map[string]any) {
	t.Helper()
	return post(t, e, "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, "cli", cliSecret)
}

// lostAnswerStore commits the next rotation and then fails, as a server
// that died after the commit and before its reply looks to the client.
type lostAnswerStore struct {
	identity.Store
	lose atomic.Bool
}

func (s *lostAnswerStore) RotateRefreshToken(ctx context.Context, oldHash string, next *identity.RefreshToken, now time.Time) (*identity.RefreshToken, error) {
	old, err := s.Store.RotateRefreshToken(ctx, oldHash, next, now)
	if err == nil && s.lose.CompareAndSwap(true, false) {
		return nil, errors.New("connection reset after commit")
	}
	return old, err
}

func TestRefreshRetryAfterALostAnswer(t *testing.T) {
	base := newEnv(t)
	st := &lostAnswerStore{Store: base.store}
	e := startOn(t, st)
	first := aliceToken(t, e).RefreshToken

	st.lose.Store(true)
	if status, body := refresh(t, e, first); status < 500 {
		t.Fatalf("the lost answer: %d %v, want a 5xx", status, body)
	}
	// The client retries with the token it holds: the rotation happened,
	// and it gets a pair that works, not a revoked family.
	status, body := refresh(t, e, first)
	if status != 200 {
		t.Fatalf("retry after the lost answer: %d %v", status, body)
	}
	again := body["refresh_token"].(string)
	if status, body := refresh(t, e, again); status != 200 {
		t.Fatalf("the retried answer's refresh token: %d %v", status, body)
	}
}

func TestRefreshGrace(t *testing.T) {
	var skew atomic.Int64
	e := newEnv(t, func(c *authserver.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	first := aliceToken(t, e).RefreshToken
	status, a := refresh(t, e, first)
	if status != 200 {
		t.Fatalf("rotation: %d %v", status, a)
	}
	// Within the grace, the same token gets the same answer: the same
	// refresh token and the same access token.
	status, b := refresh(t, e, first)
	if status != 200 || b["refresh_token"] != a["refresh_token"] || b["access_token"] != a["access_token"] {
		t.Fatalf("retry within the grace: %d; same refresh token %v, same access token %v", status, b["refresh_token"] == a["refresh_token"], b["access_token"] == a["access_token"])
	}
	if !strings.Contains(e.logs.String(), `"event":"refresh_retried"`) {
		t.Error("the retry is not audited")
	}
	// The store keeps the answer sealed: neither token is in the row.
	next, err := e.store.RefreshTokenByParent(context.Background(), identity.HashToken(first))
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Sealed) == 0 || strings.Contains(string(next.Sealed), a["refresh_token"].(string)) || strings.Contains(string(next.Sealed), a["access_token"].(string)[:40]) {
		t.Fatal("the sealed answer is missing or holds a token in clear")
	}
	// The family goes on; once the successor is used, the grace is over:
	// the first token again is reuse and revokes the family.
	status, c := refresh(t, e, a["refresh_token"].(string))
	if status != 200 {
		t.Fatalf("the successor: %d %v", status, c)
	}
	if status, _ := refresh(t, e, first); status != 400 {
		t.Fatalf("the first token after its successor was used: %d, want 400 invalid_grant", status)
	}
	if status, _ := refresh(t, e, c["refresh_token"].(string)); status != 400 {
		t.Fatal("the family survived a reuse")
	}

	// After the grace, a replay is reuse even with the successor unused.
	first = aliceToken(t, e).RefreshToken
	if status, _ := refresh(t, e, first); status != 200 {
		t.Fatal("rotation failed")
	}
	skew.Store(int64(authserver.DefaultRefreshTokenGrace + time.Second))
	if status, _ := refresh(t, e, first); status != 400 {
		t.Fatalf("replay after the grace: %d, want 400", status)
	}
}

func TestRefreshGraceOff(t *testing.T) {
	e := newEnv(t, func(c *authserver.Config) { c.RefreshTokenGrace = -1 })
	first := aliceToken(t, e).RefreshToken
	status, a := refresh(t, e, first)
	if status != 200 {
		t.Fatal("rotation failed")
	}
	if status, _ := refresh(t, e, first); status != 400 {
		t.Fatalf("replay with the grace off: %d, want 400", status)
	}
	if status, _ := refresh(t, e, a["refresh_token"].(string)); status != 400 {
		t.Fatal("the family survived a reuse with the grace off")
	}
}

// failingLookupStore fails refresh token lookups as a store outage does.
type failingLookupStore struct{ identity.Store }

func (failingLookupStore) RefreshTokenByHash(context.Context, string) (*identity.RefreshToken, error) {
	return nil, identity.ErrUnavailable
}

// TestRevokeDuringAStoreOutageIsNot200: a refresh token revocation that
// could not look the token up answers 503, never "revoked".
func TestRevokeDuringAStoreOutageIsNot200(t *testing.T) {
	base := newEnv(t)
	e := startOn(t, failingLookupStore{base.store})
	if status, body := post(t, e, "/oauth2/revoke", url.Values{"token": {"a-refresh-token"}}, "cli", cliSecret); status != 503 || body["error"] != "temporarily_unavailable" {
		t.Fatalf("revoke with the store down: %d %v, want 503 temporarily_unavailable", status, body)
	}
}
