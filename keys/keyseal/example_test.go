package keyseal_test

import (
	"errors"
	"fmt"

	"github.com/gatehousehq/gatehouse/keys/keyseal"
)

func Example() {
	oldSecret := []byte("an old secret of at least 32 random bytes")
	newSecret := []byte("a new secret of at least 32 random bytes!")

	before, _ := keyseal.New(oldSecret)
	stored, _ := before.Seal("k1", []byte(`{"kty":"OKP","crv":"Ed25519","d":"..."}`))

	// Rotation: the new secret seals, the old one still opens.
	during, _ := keyseal.New(newSecret, oldSecret)
	jwk, _ := during.Open("k1", stored)
	stored, _ = during.Seal("k1", jwk)

	after, _ := keyseal.New(newSecret)
	jwk, err := after.Open("k1", stored)
	fmt.Println(string(jwk), err)

	// A value copied to another key's row does not open.
	_, err = after.Open("k2", stored)
	fmt.Println(errors.Is(err, keyseal.ErrNotAuthentic))
	// Output:
	// {"kty":"OKP","crv":"Ed25519","d":"..."} <nil>
	// true
}
