// Command guardonly is the smallest service gatehouse serves: it verifies
// the bearer token of every request with the keys its issuer publishes
// and answers the caller's subject. Package linkcheck builds it to hold
// the core's size: it imports guard, token and keys only.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

func main() {
	ctx := context.Background()
	src, err := keys.NewRemoteFromIssuer(ctx, "https://auth.example")
	if err != nil && !errors.Is(err, keys.ErrUnavailable) {
		log.Fatal(err)
	}
	v, err := token.NewVerifier(src, "https://auth.example", "orders")
	if err != nil {
		log.Fatal(err)
	}
	g, err := guard.New(v)
	if err != nil {
		log.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := guard.PrincipalFrom(r.Context())
		fmt.Fprintln(w, p.Subject)
	})
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: g.Middleware(app), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
