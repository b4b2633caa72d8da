package redisjti_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver/redisjti"
	"github.com/gatehousehq/gatehouse/internal/redistest"
)

func newStore(t *testing.T) (*redisjti.Store, string) {
	t.Helper()
	prefix := redistest.Prefix(t)
	s, err := redisjti.New(redistest.Client(t, "redisjti-test"), redisjti.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s, prefix
}

// A jti is new once per client, for its TTL; the client id and the jti
// cannot be confused with another pair's.
func TestUse(t *testing.T) {
	ctx := context.Background()
	s, prefix := newStore(t)
	for _, tc := range []struct {
		client, jti string
		want        bool
	}{
		{"svc", "j1", true},
		{"svc", "j1", false}, // replay
		{"other", "j1", true},
		{"a:b", "c", true},
		{"a", "b:c", true}, // not the same key as a:b + c
		{"a", "b:c", false},
	} {
		got, err := s.Use(ctx, tc.client, tc.jti, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Fatalf("Use(%q, %q) = %v, want %v", tc.client, tc.jti, got, tc.want)
		}
	}
	// The key lives for the TTL given, rounded up to the millisecond.
	if _, err := s.Use(ctx, "ttl", "j", 400*time.Millisecond+500*time.Microsecond); err != nil {
		t.Fatal(err)
	}
	c := redistest.Client(t, "redisjti-test-admin")
	keys, err := c.Keys(ctx, prefix+":ttl:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys of client ttl: %v %v", keys, err)
	}
	if pttl, err := c.PTTL(ctx, keys[0]).Result(); err != nil || pttl <= 0 || pttl > 401*time.Millisecond {
		t.Fatalf("PTTL %v %v, want within (0, 401ms]", pttl, err)
	}
	redistest.Eventually(t, 2*time.Second, "the jti key expires", func() bool {
		n, err := c.Exists(ctx, keys[0]).Result()
		return err == nil && n == 0
	})
	fresh, err := s.Use(ctx, "ttl", "j", time.Minute)
	if err != nil || !fresh {
		t.Fatalf("a jti after its TTL: %v %v, want new", fresh, err)
	}
}

// Without Redis, Use says it cannot tell.
func TestUseWithoutRedis(t *testing.T) {
	redistest.URL(t)
	s, err := redisjti.New(redistest.Unreachable(t), redisjti.WithTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if fresh, err := s.Use(context.Background(), "svc", "j", time.Minute); err == nil || fresh {
		t.Fatalf("Use without Redis: %v %v, want an error", fresh, err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	c := redistest.Unreachable(t)
	for name, o := range map[string]redisjti.Option{
		"empty prefix":  redisjti.WithPrefix(""),
		"brace prefix":  redisjti.WithPrefix("{x}"),
		"zero timeout":  redisjti.WithTimeout(0),
		"negative time": redisjti.WithTimeout(-time.Second),
	} {
		if _, err := redisjti.New(c, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := redisjti.New(nil); err == nil {
		t.Error("nil client accepted")
	}
}
