package redisreplay_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/dpop/redisreplay"
	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// Two verifiers (two instances) on one Redis: a proof accepted by the
// first is refused by the second.
func TestSharedReplay(t *testing.T) {
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	verifier := func(name string) *dpop.Verifier {
		rc, err := redisreplay.New(redistest.Client(t, name), redisreplay.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		v, err := dpop.NewVerifier(dpop.WithReplay(rc))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a, b := verifier("dpop-a"), verifier("dpop-b")
	s, _ := dpop.GenerateSigner()
	req := dpop.Request{Method: "POST", URL: "https://as.example/oauth2/token"}
	p, _ := s.Proof(req.Method, req.URL, "", "")
	if _, err := a.Verify(ctx, p, req); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := b.Verify(ctx, p, req); !errors.Is(err, dpop.ErrInvalidProof) {
		t.Fatalf("the other instance accepted the replay: %v", err)
	}
	// A fresh proof passes on either.
	p2, _ := s.Proof(req.Method, req.URL, "", "")
	if _, err := b.Verify(ctx, p2, req); err != nil {
		t.Fatal(err)
	}
	// The key expires when the proof leaves the window (60s after iat).
	c := redistest.Client(t, "dpop-admin")
	keys, err := c.Keys(ctx, prefix+":*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys: %v %v", keys, err)
	}
	if pttl, err := c.PTTL(ctx, keys[0]).Result(); err != nil || pttl <= 50*time.Second || pttl > 61*time.Second {
		t.Fatalf("PTTL %v %v", pttl, err)
	}
}

// Redis unreachable: the proof is refused as unavailable, not accepted.
func TestRedisDown(t *testing.T) {
	rdb := redistest.Client(t, "dpop-down")
	rc, _ := redisreplay.New(rdb, redisreplay.WithTimeout(200*time.Millisecond))
	_ = rdb.Close()
	v, _ := dpop.NewVerifier(dpop.WithReplay(rc))
	s, _ := dpop.GenerateSigner()
	p, _ := s.Proof("POST", "https://as.example/t", "", "")
	if _, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: "https://as.example/t"}); !errors.Is(err, dpop.ErrReplayUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

func TestOptions(t *testing.T) {
	if _, err := redisreplay.New(nil); err == nil {
		t.Fatal("nil client")
	}
	if _, err := redisreplay.New(redistest.Client(t, "dpop-opts"), redisreplay.WithPrefix("a b")); err == nil {
		t.Fatal("prefix with a space")
	}
}
