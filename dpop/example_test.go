package dpop_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gatehousehq/gatehouse/dpop"
)

// A client signs a proof for its token request and sends it in the DPoP
// header.
func ExampleSigner_Proof() {
	s, err := dpop.GenerateSigner() // keep it: tokens are bound to this key
	if err != nil {
		panic(err)
	}
	proof, err := s.Proof("POST", "https://as.example/oauth2/token", "", "")
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest("POST", "https://as.example/oauth2/token", nil)
	req.Header.Set(dpop.HeaderName, proof)
	fmt.Println(s.Algorithm(), len(s.JKT()))
	// Output: ES256 43
}

// A resource server checks the proof that comes with a DPoP-bound token:
// the method, the URL, ath for the token and the token's cnf.jkt.
func ExampleVerifier_Verify() {
	v, err := dpop.NewVerifier()
	if err != nil {
		panic(err)
	}
	client, _ := dpop.GenerateSigner()
	const tok = "the-access-token"
	proof, _ := client.Proof("GET", "https://api.example/orders?page=2", tok, "")

	req := dpop.Request{Method: "GET", URL: "https://api.example/orders", AccessToken: tok, JKT: client.JKT()}
	p, err := v.Verify(context.Background(), proof, req)
	fmt.Println(err == nil, p.JKT == client.JKT())
	_, err = v.Verify(context.Background(), proof, req) // the same proof again
	fmt.Println(err)
	// Output:
	// true true
	// dpop: invalid proof: jti used before
}
