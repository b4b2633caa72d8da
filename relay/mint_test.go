package relay_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// TestMint: service A (users) mints a token for B (profiles) on behalf of
// the user of the caller's token, with its own key or an HS256 secret; B
// verifies it with A's key and sees the user as sub, B as aud, A as act.
func TestMint(t *testing.T) {
	ec, err := keys.Generate(keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := keys.New(keys.HS256, []byte("a shared secret of 32 bytes or more!"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		key  *keys.Key
	}{{"own ES256 key", ec}, {"HS256 shared secret", secret}} {
		t.Run(tt.name, func(t *testing.T) {
			iss := tokentest.NewIssuer(t, tokentest.WithAudience("users"))
			verifyBy := tt.key.PublicKey()
			if verifyBy == nil {
				verifyBy = tt.key // a shared secret verifies too
			}
			ks, err := keys.NewStatic(verifyBy)
			if err != nil {
				t.Fatal(err)
			}
			v, err := token.NewVerifier(ks, "users", "profiles", token.WithAlgorithms(tt.key.Algorithm()))
			if err != nil {
				t.Fatal(err)
			}
			b := newDownstream(t, v)
			mint, err := relay.NewMint(relay.MintConfig{Service: "users", Key: tt.key, Audience: "profiles"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, raw := callerContext(t, iss, token.Claims{Subject: "alice", Groups: []string{"admin"}, Org: "acme", Scope: "profile:read", SessionID: "sess-1"})
			status, _, err := get(t, ctx, relayClient(t, mint), b.URL)
			if err != nil || status != http.StatusOK {
				t.Fatalf("%d %v", status, err)
			}
			c := b.last(t)
			if c.SessionID != "sess-1" {
				t.Errorf("minted token sid %q: logout of the caller's session must revoke it too", c.SessionID)
			}
			if c.Subject != "alice" || !c.Audience.Contains("profiles") || c.Issuer != "users" || c.Actor == nil || c.Actor.Subject != "users" {
				t.Fatalf("B saw sub=%q aud=%v iss=%q act=%+v", c.Subject, c.Audience, c.Issuer, c.Actor)
			}
			if !c.InGroup("admin") || c.Org != "acme" || c.Scope != "" {
				t.Fatalf("groups %v org %q scope %q: want the user's groups and org, no scope", c.Groups, c.Org, c.Scope)
			}
			if life := c.ExpiresAt.Time().Sub(c.IssuedAt.Time()); life > token.MaxServiceTokenTTL || life <= 0 {
				t.Fatalf("lifetime %s, want at most 60s", life)
			}
			if b.firstRaw(t) == raw {
				t.Fatal("the caller's token was sent")
			}
		})
	}
}

func TestMintNeverOutlivesTheCallerToken(t *testing.T) {
	now := time.Now()
	key, _ := keys.Generate(keys.ES256)
	mint, err := relay.NewMint(relay.MintConfig{Service: "users", Key: key, Audience: "profiles", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	callerExp := token.At(now.Add(20 * time.Second))
	ctx := token.NewContext(context.Background(), "caller", &token.Claims{Subject: "alice", ExpiresAt: callerExp})
	raw, err := mint.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := keys.NewStatic(key)
	v, _ := token.NewVerifier(ks, "users", "profiles")
	c, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.ExpiresAt > callerExp {
		t.Fatalf("minted exp %d is after the caller's %d", c.ExpiresAt, callerExp)
	}
	// A context with a token but no claims cannot name the user.
	if _, err := mint.Token(token.NewContext(context.Background(), "caller", nil)); !errors.Is(err, relay.ErrNoToken) {
		t.Fatalf("got %v, want ErrNoToken", err)
	}
}

func TestNewMintRefusesBadConfig(t *testing.T) {
	key, _ := keys.Generate(keys.ES256)
	pub := key.PublicKey()
	for name, cfg := range map[string]relay.MintConfig{
		"no service":         {Key: key, Audience: "b"},
		"no audience":        {Service: "a", Key: key},
		"no key":             {Service: "a", Audience: "b"},
		"public key only":    {Service: "a", Key: pub, Audience: "b"},
		"TTL above 60s":      {Service: "a", Key: key, Audience: "b", TTL: 61 * time.Second},
		"TTL under a second": {Service: "a", Key: key, Audience: "b", TTL: time.Millisecond},
		"negative skew":      {Service: "a", Key: key, Audience: "b", Skew: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := relay.NewMint(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := keys.New(keys.HS256, []byte("too short")); err == nil {
		t.Fatal("a short HS256 secret was accepted")
	}
}
