package cachedstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/cachedstore"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
)

// The identity lookups of a service go through a cache: on one machine a
// Memory backend, with several processes cache.NewRedis(rdb). A write
// through the cached store invalidates what it changed.
func ExampleNew() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "gatehouse-example")
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	backend, _ := cache.NewMemory()
	users, err := cachedstore.New(store, backend, cache.WithTTL(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer users.Close()

	alice := &identity.User{Username: "alice", Email: "alice@acme.test", Groups: []string{"admin"}}
	users.CreateUser(ctx, alice)
	for range 3 {
		u, _ := users.UserByID(ctx, alice.ID)
		fmt.Println(u.Username, u.Groups, u.Disabled)
	}
	users.SetUserDisabled(ctx, "alice", true)
	u, _ := users.UserByID(ctx, alice.ID)
	fmt.Println(u.Username, u.Groups, u.Disabled)
	fmt.Println("store reads:", users.Stats().Loads)
	// Output:
	// alice [admin] false
	// alice [admin] false
	// alice [admin] false
	// alice [admin] true
	// store reads: 2
}
