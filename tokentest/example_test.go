package tokentest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// A service's test mints one valid token and one of each invalid kind, and
// checks that its verifier refuses each for the right reason.
func Example() {
	t := &testing.T{} // in a real test, the *testing.T of the test function
	iss := tokentest.NewIssuer(t)
	v := iss.Verifier()
	ctx := context.Background()

	claims, err := v.Verify(ctx, iss.Token(token.Claims{Subject: "alice", Org: "acme", Roles: []string{"admin"}}))
	fmt.Println("valid:", claims.Subject, claims.Org, claims.Roles, err)

	for _, bad := range []struct {
		name string
		raw  string
		want error
	}{
		{"expired", iss.Expired(token.Claims{}), token.ErrExpired},
		{"not yet valid", iss.NotYetValid(token.Claims{}), token.ErrNotYetValid},
		{"wrong audience", iss.WrongAudience(token.Claims{}), token.ErrAudience},
		{"wrong issuer", iss.WrongIssuer(token.Claims{}), token.ErrIssuer},
		{"bad signature", iss.BadSignature(token.Claims{}), token.ErrSignature},
		{"unknown key", iss.UnknownKey(token.Claims{}), token.ErrUnknownKey},
		{"alg none", iss.AlgNone(token.Claims{}), token.ErrAlgorithm},
	} {
		_, err := v.Verify(ctx, bad.raw)
		fmt.Printf("%s: refused=%v\n", bad.name, errors.Is(err, bad.want))
	}
	// Output:
	// valid: alice acme [admin] <nil>
	// expired: refused=true
	// not yet valid: refused=true
	// wrong audience: refused=true
	// wrong issuer: refused=true
	// bad signature: refused=true
	// unknown key: refused=true
	// alg none: refused=true
}
