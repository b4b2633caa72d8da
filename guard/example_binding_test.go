package guard_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// Accept sender-constrained tokens: DPoP-bound ones with a proof for
// https://orders.example (the URL clients use; the service runs behind a
// TLS-terminating proxy at 10.0.0.0/8), certificate-bound ones with the
// client certificate that proxy forwards in X-Forwarded-Client-Cert. A
// DPoP-bound token stolen from a log is refused: as Bearer, and as DPoP
// without a proof its thief can sign.
func ExampleWithDPoP() {
	key, _ := keys.Generate(keys.ES256)
	issuer, _ := token.NewIssuer("https://auth.example", key)
	src, _ := keys.NewStatic(key)
	v, _ := token.NewVerifier(src, "https://auth.example", "orders")
	proofs, _ := dpop.NewVerifier() // a service with several instances passes dpop.WithReplay(redisreplay.New(...))
	g, err := guard.New(v,
		guard.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		guard.WithDPoP(proofs, guard.ExternalURL("https://orders.example")),
		guard.WithClientCertificateHeader("X-Forwarded-Client-Cert", guard.CertificateXFCC,
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}),
	)
	if err != nil {
		panic(err)
	}
	h := g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "order 7") }))

	client, _ := dpop.GenerateSigner() // the client's key; the auth server bound the token to it
	raw, _ := issuer.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{"orders"},
		Confirmation: &token.Confirmation{JKT: client.JKT()}})

	send := func(scheme string, proof string) {
		r := httptest.NewRequest("GET", "http://10.0.0.5:8080/api/orders/7", nil)
		r.Header.Set("Authorization", scheme+" "+raw)
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		ch := rec.Header().Values("WWW-Authenticate") // the Bearer or DPoP challenge with the error first
		if len(ch) > 1 {
			ch = ch[:1]
		}
		fmt.Println(rec.Code, ch)
	}
	proof, _ := client.Proof("GET", "https://orders.example/api/orders/7", raw, "")
	send("DPoP", proof)
	send("DPoP", proof) // the same proof again
	send("Bearer", "")
	// Output:
	// 200 []
	// 401 [DPoP realm="orders", error="invalid_dpop_proof", error_description="the DPoP proof was refused: jti used before", algs="ES256 ES384 ES512 EdDSA RS256 PS256"]
	// 401 [Bearer realm="orders", error="invalid_token", error_description="the token is DPoP-bound: send it with Authorization: DPoP and a DPoP proof"]
}
