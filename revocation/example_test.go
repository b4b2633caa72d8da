package revocation_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
)

// A deny list on one machine. With several processes, redislist.New(rdb)
// (package revocation/redislist) replaces NewMemory: an Add in one process
// is pushed to every other.
func ExampleNewMemory() {
	list, _ := revocation.NewMemory()
	ctx := context.Background()
	now := time.Now()

	// Logout everywhere: every token of alice issued until now.
	list.Add(ctx, revocation.BySubject("alice", now, now.Add(24*time.Hour)))
	// One stolen token, until it expires.
	list.Add(ctx, revocation.ByToken("tok-42", now.Add(15*time.Minute)))

	old := &token.Claims{ID: "tok-1", Subject: "alice", IssuedAt: token.At(now.Add(-time.Minute))}
	fresh := &token.Claims{ID: "tok-2", Subject: "alice", IssuedAt: token.At(now.Add(time.Minute))}
	stolen := &token.Claims{ID: "tok-42", Subject: "bob", IssuedAt: token.At(now)}
	// A verifier asks the list for every token: token.WithRevoker(list).
	for _, c := range []*token.Claims{old, fresh, stolen} {
		revoked, err := list.Revoked(ctx, c)
		fmt.Println(c.ID, revoked, err)
	}
	// Output:
	// tok-1 true <nil>
	// tok-2 false <nil>
	// tok-42 true <nil>
}
