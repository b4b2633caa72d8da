package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse/ratelimit"
	"github.com/gatehousehq/gatehouse/redisconn"
)

// Spring Cloud Gateway's example policy: 10 requests per second with bursts
// of 5, on a stopped clock so that the output is fixed.
func ExampleNewMemory() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim, err := ratelimit.NewMemory(
		ratelimit.Policy{Name: "api", ReplenishRate: 10, BurstCapacity: 5},
		ratelimit.WithClock(func() time.Time { return now }),
	)
	if err != nil {
		panic(err)
	}
	key := ratelimit.Key("client_id", "web-app")
	for range 6 {
		d, _ := lim.Allow(context.Background(), key, 1)
		fmt.Println(d.Allowed, d.Remaining, d.RetryAfter)
	}
	// Output:
	// true 4 0s
	// true 3 0s
	// true 2 0s
	// true 1 0s
	// true 0 0s
	// false 0 100ms
}

func ExampleWriteHeaders() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lim, _ := ratelimit.NewMemory(
		ratelimit.Policy{Name: "orders", ReplenishRate: 1, BurstCapacity: 60, RequestedTokens: 60}, // 1 per minute
		ratelimit.WithClock(func() time.Time { return now }),
	)
	lim.Allow(context.Background(), "k", 1)
	d, _ := lim.Allow(context.Background(), "k", 1)

	h := http.Header{}
	ratelimit.WriteHeaders(h, d)
	fmt.Println("Allowed:", d.Allowed)
	fmt.Println("RateLimit-Policy:", h.Get("RateLimit-Policy"))
	fmt.Println("RateLimit:", h.Get("RateLimit"))
	fmt.Println("Retry-After:", h.Get("Retry-After"))
	// Output:
	// Allowed: false
	// RateLimit-Policy: "orders";q=1;w=60
	// RateLimit: "orders";r=0;t=60
	// Retry-After: 60
}

func ExampleKey() {
	fmt.Println(ratelimit.Key("ip", "192.0.2.1"))
	fmt.Println(ratelimit.Key("ip", "2001:db8::1"))
	fmt.Println(ratelimit.Key("claim:org", "acme"))
	fmt.Println(ratelimit.Key("claim", "org:acme"))
	// Output:
	// ip:192.0.2.1
	// ip:2001%3Adb8%3A%3A1
	// claim%3Aorg:acme
	// claim:org%3Aacme
}

// Several gateway instances share one limit through Redis.
func ExampleNewRedis() {
	rdb, err := redisconn.Open("redis://127.0.0.1:6379/0")
	if err != nil {
		panic(err)
	}
	defer rdb.Close()
	lim, err := ratelimit.NewRedis(rdb, ratelimit.Policy{Name: "orders", ReplenishRate: 10, BurstCapacity: 20},
		ratelimit.WithFailureMode(ratelimit.FailOpen))
	if err != nil {
		panic(err)
	}
	d, err := lim.Allow(context.Background(), ratelimit.Key("sub", "alice"), 1)
	if err != nil {
		return // the caller's context ended
	}
	if d.Degraded {
		fmt.Println("Redis unreachable; failures so far:", lim.Stats().Failures)
	}
}
