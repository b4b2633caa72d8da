package redislist_test

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/revocation/redislist"
	"github.com/gatehousehq/gatehouse/token"
)

// A service checks tokens against the deny list that the auth server
// publishes on Redis, and drops revoked tokens from its verifier's cache.
func ExampleNew() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	list, err := redislist.New(rdb, redislist.WithPrefix("gatehouse:revocation"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer list.Close()
	src, _ := keys.NewRemoteFromIssuer(ctx, "https://auth.example")
	v, _ := token.NewVerifier(src, "https://auth.example", "orders", token.WithRevoker(list))
	defer revocation.ForgetIn(list, v)()

	// Wait for the first load at start; until then checks answer 503.
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := list.WaitSynced(wait); err != nil {
		fmt.Println("the deny list is not loaded yet:", err)
	}
}
