// Package redisconn opens the one kind of go-redis client every part of
// gatehouse shares: the gateway's rate limits, the revocation list, the
// identity cache. Operators name a Redis deployment with one URL, and the
// same URL means the same thing to the gateway, the auth server and a
// library user's own process:
//
//	rdb, err := redisconn.Open("rediss://gw:secret@redis.internal:6379/0")
//	if err != nil {
//		return err // never holds the URL or its password
//	}
//	defer rdb.Close()
//
// A single server, Sentinel (?master_name=) and Cluster (?addr=) are chosen
// by the URL, as [Open] describes. Every client it returns honours its
// context's deadline and fails fast: a decision taken per request (a rate
// limit, a deny-list check) is not worth a retry, and an unreachable Redis
// costs one dial timeout, not five.
package redisconn
