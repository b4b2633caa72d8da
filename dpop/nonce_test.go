package dpop_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
)

// A nonce is good for its step and the next, and one step early, on every
// instance with the secret, and on none without it.
func TestNonces(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	secret := []byte(strings.Repeat("s", 32))
	a, err := dpop.NewNonces(secret, time.Minute, dpop.WithNonceClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := dpop.NewNonces(secret, time.Minute, dpop.WithNonceClock(clock))
	other, _ := dpop.NewNonces([]byte(strings.Repeat("o", 32)), time.Minute, dpop.WithNonceClock(clock))
	n := a.Current()
	if !a.Valid(n) || !b.Valid(n) || other.Valid(n) || b.Current() != n {
		t.Fatal("the nonce of one instance is not the other's")
	}
	now = now.Add(time.Minute)
	if !a.Valid(n) || a.Current() == n {
		t.Fatal("the nonce is not good for the next step")
	}
	now = now.Add(time.Minute)
	if a.Valid(n) {
		t.Fatal("the nonce is good two steps later")
	}
	// An instance whose clock is up to a step behind accepts the nonce of
	// one ahead; two steps behind, it does not.
	ahead, _ := dpop.NewNonces(secret, time.Minute, dpop.WithNonceClock(func() time.Time { return now.Add(time.Minute) }))
	if !a.Valid(ahead.Current()) {
		t.Fatal("the nonce of an instance one step ahead is refused")
	}
	farAhead, _ := dpop.NewNonces(secret, time.Minute, dpop.WithNonceClock(func() time.Time { return now.Add(2 * time.Minute) }))
	if a.Valid(farAhead.Current()) {
		t.Fatal("the nonce of an instance two steps ahead is accepted")
	}
	if a.Valid("") {
		t.Fatal("empty nonce")
	}
	if _, err := dpop.NewNonces(secret[:31], time.Minute); err == nil {
		t.Fatal("a short secret")
	}
	if _, err := dpop.NewNonces(secret, time.Millisecond); err == nil {
		t.Fatal("a step under a second")
	}
}

// The nonce flow: refused without one, the error gives the nonce, signed
// again with it the proof passes.
func TestNonceFlow(t *testing.T) {
	clock := func() time.Time { return t0 }
	nonces, _ := dpop.NewNonces([]byte(strings.Repeat("s", 32)), time.Minute, dpop.WithNonceClock(clock))
	v, _ := dpop.NewVerifier(dpop.WithNonces(nonces), dpop.WithClock(clock))
	s, _ := dpop.GenerateSigner()
	req := dpop.Request{Method: "POST", URL: target, Nonce: true}
	p, _ := s.ProofAt("POST", target, "", "", t0)
	_, err := v.Verify(context.Background(), p, req)
	var ne *dpop.NonceError
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v", err)
	}
	p, _ = s.ProofAt("POST", target, "", ne.Nonce, t0)
	if _, err := v.Verify(context.Background(), p, req); err != nil {
		t.Fatal(err)
	}
}
