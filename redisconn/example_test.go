package redisconn_test

import (
	"fmt"

	"github.com/gatehousehq/gatehouse/redisconn"
)

// One URL names a single server, a Sentinel set or a Cluster; Open does
// no I/O, so it fails only on a URL it cannot use, and then says so
// without repeating the URL.
func ExampleOpen() {
	rdb, err := redisconn.Open("redis://127.0.0.1:6379/0?dial_timeout=500ms")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rdb.Close()

	_, err = redisconn.Open("redis://gw:hunter2@redis.internal:6379/0?pool=20")
	fmt.Println(err)
	// Output:
	// redis URL: redis: unexpected option: pool
}
