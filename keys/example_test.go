package keys_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// Generate a signing key, store it with its private part (mode 0600), and
// load it back.
func Example_generateAndSave() {
	dir, err := os.MkdirTemp("", "gatehouse-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "signing.jwk")

	k, err := keys.Generate(keys.ES256, keys.WithID("2026-01"))
	if err != nil {
		log.Fatal(err)
	}
	if err := keys.Save(path, k); err != nil {
		log.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		log.Fatal(err)
	}
	loaded, err := keys.LoadKey(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(fi.Mode().Perm())
	fmt.Println(loaded, loaded.SameKey(k))
	// Save never overwrites a key.
	fmt.Println(keys.Save(path, k) != nil)
	// Output:
	// -rw-------
	// ES256 key 2026-01 (private) true
	// true
}

// Rotate the signing key: the replaced key keeps verifying, and stays in the
// JWKS, until the retention has passed.
func ExampleSet_Rotate() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	old, err := keys.Generate(keys.ES256, keys.WithID("2026-01"))
	if err != nil {
		log.Fatal(err)
	}
	set, err := keys.NewSet(old, time.Hour, keys.WithClock(clock))
	if err != nil {
		log.Fatal(err)
	}
	next, err := keys.Generate(keys.EdDSA, keys.WithID("2026-02"))
	if err != nil {
		log.Fatal(err)
	}
	if err := set.Rotate(next); err != nil {
		log.Fatal(err)
	}
	show := func() {
		var kids []string
		for _, k := range set.Keys() {
			kids = append(kids, k.ID())
		}
		_, err := set.Key(context.Background(), "2026-01")
		fmt.Printf("signs with %s; verifies with %v; old key: %v\n", set.SigningKey().ID(), kids, err)
	}
	show()
	now = now.Add(time.Hour)
	show()
	// Output:
	// signs with 2026-02; verifies with [2026-02 2026-01]; old key: <nil>
	// signs with 2026-02; verifies with [2026-02]; old key: keys: no key with that kid
}

// Take verification keys from an issuer's JWKS URL.
func ExampleNewRemote() {
	signing, err := keys.Generate(keys.ES256, keys.WithID("issuer-key"))
	if err != nil {
		log.Fatal(err)
	}
	jwks, err := keys.MarshalJWKS(signing)
	if err != nil {
		log.Fatal(err)
	}
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write(jwks)
	}))
	defer issuer.Close()

	src, err := keys.NewRemote(issuer.URL, keys.WithRefetchInterval(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	k, err := src.Key(ctx, "issuer-key")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(k, k.SameKey(signing))
	_, err = src.Key(ctx, "unknown")
	fmt.Println(err)
	fmt.Println("fetches:", src.Fetches())
	// Output:
	// ES256 key issuer-key (public) true
	// keys: no key with that kid
	// fetches: 1
}
