package dpop_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
)

func TestMemoryReplay(t *testing.T) {
	ctx := context.Background()
	c := dpop.NewMemoryReplay(2)
	until := time.Now().Add(time.Hour)
	for _, tc := range []struct {
		key  string
		want bool
	}{{"a", true}, {"a", false}, {"b", true}, {"b", false}} {
		if got, err := c.First(ctx, tc.key, until); err != nil || got != tc.want {
			t.Fatalf("First(%s) = %v, %v", tc.key, got, err)
		}
	}
	// Full of unexpired keys: refuse rather than forget one.
	if ok, err := c.First(ctx, "c", until); ok || err == nil {
		t.Fatalf("full cache: %v %v", ok, err)
	}
	// Expired keys make room.
	c2 := dpop.NewMemoryReplay(1)
	if ok, _ := c2.First(ctx, "old", time.Now().Add(-time.Second)); !ok {
		t.Fatal("first")
	}
	if ok, err := c2.First(ctx, "new", until); !ok || err != nil {
		t.Fatalf("an expired key kept its slot: %v %v", ok, err)
	}
}

// Many goroutines with the same proof: exactly one wins.
func TestReplayConcurrent(t *testing.T) {
	s, _ := dpop.GenerateSigner()
	v, _ := dpop.NewVerifier()
	p, _ := s.Proof("POST", target, "", "")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), p, dpop.Request{Method: "POST", URL: target}); err == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d verifications of one proof succeeded", wins.Load())
	}
}
