package cache_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse/cache"
)

var errNoSuchUser = errors.New("no such user")

// A cache of e-mail addresses by user id in front of a slow source, on one
// machine. With several processes, cache.NewRedis(rdb) replaces NewMemory
// and Invalidate reaches every process.
func ExampleNew() {
	backend, _ := cache.NewMemory()
	emails, err := cache.New[string]("emails", backend,
		cache.WithTTL(time.Minute),
		cache.WithNegative(errNoSuchUser, 5*time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer emails.Close()

	source := map[string]string{"alice": "alice@acme.test"}
	reads := 0
	load := func(id string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			reads++
			if e, ok := source[id]; ok {
				return e, nil
			}
			return "", errNoSuchUser
		}
	}
	ctx := context.Background()
	for range 3 {
		e, _ := emails.Get(ctx, "alice", load("alice"))
		fmt.Println(e)
	}
	_, err = emails.Get(ctx, "mallory", load("mallory"))
	fmt.Println(err)
	_, err = emails.Get(ctx, "mallory", load("mallory")) // the negative entry answers
	fmt.Println(err)

	source["alice"] = "alice@example.org"
	emails.Invalidate(ctx, "alice") // after every write of the source
	e, _ := emails.Get(ctx, "alice", load("alice"))
	fmt.Println(e)
	fmt.Println("source reads:", reads)
	// Output:
	// alice@acme.test
	// alice@acme.test
	// alice@acme.test
	// no such user
	// no such user
	// alice@example.org
	// source reads: 3
}
