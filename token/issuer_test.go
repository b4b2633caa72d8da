package token_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

func TestIssuerRoundTripEveryAlgorithm(t *testing.T) {
	for _, alg := range keys.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			key := mustKey(t, alg, "k-"+string(alg))
			iss, err := token.NewIssuer(testIssuer, key, token.WithClock(clock))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := iss.AccessToken(token.Claims{
				Subject: "alice", Audience: token.Audience{testAudience}, ClientID: "spa", Scope: "a b",
				Roles: []string{"admin"}, Groups: []string{"admin"}, Org: "acme", Email: "alice@acme.example",
				Actor: &token.Actor{Subject: "accounts", Actor: &token.Actor{Subject: "gateway"}},
				Extra: map[string]any{"tier": "gold", "limits": map[string]int{"rps": 5}},
			})
			if err != nil {
				t.Fatal(err)
			}
			src, _ := keys.NewStatic(key)
			v, err := token.NewVerifier(src, testIssuer, testAudience, token.WithClock(clock), token.WithAlgorithms(alg))
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != "alice" || c.Org != "acme" || !c.HasRole("admin") || !c.InGroup("admin") || !c.HasScope("b") ||
				c.Actor.Subject != "accounts" || c.Actor.Actor.Subject != "gateway" || c.ID == "" {
				t.Fatalf("claims lost: %+v", c)
			}
			if got, want := int64(c.ExpiresAt-c.IssuedAt), int64(token.DefaultAccessTokenTTL/time.Second); got != want {
				t.Fatalf("lifetime %ds, want %ds", got, want)
			}
			var tier string
			if ok, _ := c.Custom("tier", &tier); !ok || tier != "gold" {
				t.Fatalf("custom claim lost: %q", tier)
			}
			hdr, _, _ := token.ParseUnverified(raw)
			var h map[string]string
			json.Unmarshal(hdr, &h)
			if h["typ"] != "at+jwt" || h["alg"] != string(alg) || h["kid"] != key.ID() {
				t.Fatalf("header %v", h)
			}
		})
	}
}

func TestIssuerRefuses(t *testing.T) {
	key := mustKey(t, keys.ES256, "k")
	iss, _ := token.NewIssuer(testIssuer, key)
	aud := token.Audience{testAudience}
	for _, tt := range []struct {
		name string
		mint func() (string, error)
		want string
	}{
		{"access token without sub", func() (string, error) { return iss.AccessToken(token.Claims{Audience: aud}) }, "sub"},
		{"access token without aud", func() (string, error) { return iss.AccessToken(token.Claims{Subject: "a"}) }, "aud"},
		{"custom claim shadowing sub", func() (string, error) {
			return iss.AccessToken(token.Claims{Subject: "a", Audience: aud, Extra: map[string]any{"sub": "admin"}})
		}, "standard claim"},
		{"service token over 60s", func() (string, error) { return iss.ServiceToken("alice", "admin", 61*time.Second, token.Claims{}) }, "60s"},
		{"service token without aud", func() (string, error) { return iss.ServiceToken("alice", "", time.Minute, token.Claims{}) }, "aud"},
		{"exp before iat", func() (string, error) {
			return iss.AccessToken(token.Claims{Subject: "a", Audience: aud, IssuedAt: 100, ExpiresAt: 50})
		}, "exp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := tt.mint()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %q, %v; want an error about %s", raw, err, tt.want)
			}
		})
	}
	if _, err := token.NewIssuer(testIssuer, key.PublicKey()); err == nil {
		t.Fatal("NewIssuer accepted a public key")
	}
	if _, err := token.NewIssuer(testIssuer, key, token.WithClock(nil)); err == nil {
		t.Fatal("NewIssuer accepted a nil clock")
	}
}

func TestServiceTokenIsShortLivedAndForTheDownstream(t *testing.T) {
	secret := mustKey(t, keys.HS256, "accounts-admin")
	iss, _ := token.NewIssuer("accounts", secret, token.WithClock(clock))
	raw, err := iss.ServiceToken("alice", "admin", 30*time.Second, token.Claims{Groups: []string{"admin"}, Subject: "ignored"})
	if err != nil {
		t.Fatal(err)
	}
	src, _ := keys.NewStatic(secret)
	v, _ := token.NewVerifier(src, "accounts", "admin", token.WithClock(clock), token.WithAlgorithms(keys.HS256))
	c, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.ExpiresAt-c.IssuedAt != 30 || !c.InGroup("admin") {
		t.Fatalf("service token claims: %+v", c)
	}
}

func TestClaimsJSON(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		aud  []string
		scp  []string
	}{
		{"aud string", `{"aud":"a"}`, []string{"a"}, nil},
		{"aud array", `{"aud":["a","b"]}`, []string{"a", "b"}, nil},
		{"scp array", `{"scp":["x","y z"]}`, nil, []string{"x", "y z"}},
		{"scp string", `{"scp":"x y"}`, nil, []string{"x", "y"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c token.Claims
			if err := json.Unmarshal([]byte(tt.in), &c); err != nil {
				t.Fatal(err)
			}
			if strings.Join(c.Audience, ",") != strings.Join(tt.aud, ",") || strings.Join(c.ScopeList, ",") != strings.Join(tt.scp, ",") {
				t.Fatalf("aud %q scp %q", c.Audience, c.ScopeList)
			}
		})
	}
	out, err := json.Marshal(token.Claims{Audience: token.Audience{"only"}, Extra: map[string]any{"b": 1, "a": true}})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"aud":"only","a":true,"b":1}` {
		t.Fatalf("marshal = %s", out)
	}
	out, _ = json.Marshal(token.Claims{Extra: map[string]any{"a": 1}})
	if string(out) != `{"a":1}` {
		t.Fatalf("marshal extras only = %s", out)
	}
}
