package pubsub_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/pubsub"
	"github.com/gatehousehq/gatehouse/internal/redistest"
)

// A failed Sync counts as a loss; the subscriber subscribes again, and
// delivers messages only once a Sync has succeeded.
func TestSyncFailureIsRetried(t *testing.T) {
	client := redistest.Client(t, "pubsub-test")
	channel := redistest.Prefix(t) + ":events"
	var syncs atomic.Int32
	got := make(chan string, 4)
	s := pubsub.Start(client, channel, pubsub.Handler{
		Sync: func(context.Context) error {
			if syncs.Add(1) <= 2 {
				return errors.New("not yet")
			}
			return nil
		},
		Message: func(p string) { got <- p },
	}, pubsub.Config{Interval: 100 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Losses != 2 || st.Syncs != 1 || !st.Synced {
		t.Fatalf("stats %+v: want 2 losses, then 1 sync", st)
	}
	if err := client.Publish(ctx, channel, "hello").Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "hello" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(time.Second):
		t.Fatal("no message within 1s")
	}
}

// Close stops a subscriber that never reached Redis, and unblocks
// WaitSynced.
func TestCloseWhileUnreachable(t *testing.T) {
	s := pubsub.Start(redistest.Unreachable(t), "x", pubsub.Handler{
		Sync:    func(context.Context) error { return nil },
		Message: func(string) {},
	}, pubsub.Config{})
	errc := make(chan error, 1)
	go func() { errc <- s.WaitSynced(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("WaitSynced returned nil on a closed subscriber")
		}
	case <-time.After(time.Second):
		t.Fatal("WaitSynced still blocked after Close")
	}
	if s.Synced() {
		t.Fatal("synced after Close")
	}
}
