package authserver

import (
	"testing"
	"time"
)

func TestThrottleGrowsAndResets(t *testing.T) {
	now := time.Unix(1000, 0)
	th := newThrottle(ThrottleConfig{Free: 3, Base: time.Second, Max: time.Minute}, func() time.Time { return now })
	for i := 0; i < 2; i++ {
		th.fail("user:alice", "ip:1.2.3.4")
	}
	if d := th.wait("user:alice", "ip:1.2.3.4"); d != 0 {
		t.Fatalf("blocked after 2 failures: %s", d)
	}
	th.fail("user:alice", "ip:1.2.3.4")
	if d := th.wait("user:alice"); d != time.Second {
		t.Fatalf("after 3 failures: wait %s, want 1s", d)
	}
	th.fail("user:alice")
	if d := th.wait("user:alice"); d != 2*time.Second {
		t.Fatalf("after 4 failures: wait %s, want 2s", d)
	}
	for i := 0; i < 30; i++ {
		th.fail("user:alice")
	}
	if d := th.wait("user:alice"); d != time.Minute {
		t.Fatalf("wait %s, want the 1m cap", d)
	}
	// The IP has its own, larger allowance: bob behind the same address is
	// not locked out by alice's failures.
	if d := th.wait("user:bob", "ip:1.2.3.4"); d != 0 {
		t.Fatalf("shared IP blocked after one account's failures: %s", d)
	}
	th.succeed("user:alice")
	if d := th.wait("user:alice"); d != 0 {
		t.Fatalf("success did not reset: %s", d)
	}
}
