package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// exchange.dpop: the gateway exchanges the caller's token for a
// DPoP-bound one (a proof with each exchange request, the auth server's
// nonce), and sends each upstream request with the DPoP scheme and a
// proof of its own, with the upstream's nonce once it gave one; the
// client's own DPoP header and the upstream's nonce stay on their sides.
func TestExchangeDPoPBound(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	verifier := func(secret string) *dpop.Verifier {
		ns, err := dpop.NewNonces([]byte(secret), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		v, err := dpop.NewVerifier(dpop.WithNonces(ns))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var (
		mu        sync.Mutex
		exchanges int
		bound     = map[string]string{} // token → jkt
		jtis      []string
	)
	asV := verifier("auth-server-nonce-secret-0123456789")
	var asURL string
	asURL = httpTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		exchanges++
		mu.Unlock()
		proof, _ := dpop.HeaderProof(r.Header)
		p, err := asV.Verify(r.Context(), proof, dpop.Request{Method: r.Method, URL: asURL + r.URL.Path, Nonce: true})
		w.Header().Set("Content-Type", "application/json")
		var ne *dpop.NonceError
		if errors.As(err, &ne) {
			w.Header().Set(dpop.NonceHeader, ne.Nonce)
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"use_dpop_nonce"}`)
			return
		} else if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_dpop_proof"}`)
			return
		}
		tok := fmt.Sprintf("exchanged-dpop-%d", exchanges)
		mu.Lock()
		bound[tok] = p.JKT
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "DPoP", "expires_in": 300,
			"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
	}))
	upV := verifier("upstream-nonce-secret-0123456789ab")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := dpop.AuthorizationToken(r.Header.Get("Authorization"))
		proof, perr := dpop.HeaderProof(r.Header)
		mu.Lock()
		jkt := bound[tok]
		mu.Unlock()
		if !ok || perr != nil || jkt == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		p, err := upV.Verify(r.Context(), proof, dpop.Request{Method: r.Method, URL: "http://" + r.Host + r.URL.RequestURI(),
			AccessToken: tok, JKT: jkt, Nonce: true})
		var ne *dpop.NonceError
		if errors.As(err, &ne) {
			w.Header().Set(dpop.NonceHeader, ne.Nonce)
			w.Header().Set("WWW-Authenticate", dpop.Challenge(nil, dpop.ErrorUseNonce, "nonce"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		} else if err != nil {
			w.Header().Set("WWW-Authenticate", dpop.Challenge(nil, dpop.ErrorInvalidProof, "proof"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		jtis = append(jtis, p.ID)
		mu.Unlock()
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(up.Close)
	gw := startGW(t, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
routes:
  - name: orders
    path: /orders
    upstreams: ["{{U}}"]
    auth: jwt
    downstream: exchange
    exchange: {token_url: "{{TOK}}/oauth2/token", client_id: gw, secret: s3cret-value, audience: orders, dpop: true}
`, map[string]string{"ISS": iss.URL, "U": up.URL, "TOK": asURL})
	hdr := bearer(iss.Token(token.Claims{Subject: "alice"}))
	hdr["DPoP"] = "the-clients-own-proof"

	// The first request: the upstream wants its nonce, and the gateway
	// sends it once more with the nonce (no body); the nonce stays with
	// the gateway. Then a POST with a body, with the nonce known.
	for i, method := range []string{"GET", "GET", "POST"} {
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(`{"item":1}`)
		}
		resp := gw.do(t, method, "/orders?id=1", hdr, body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get(dpop.NonceHeader) != "" {
			t.Fatalf("request %d: status %d, DPoP-Nonce %q: want 200, the nonce kept by the gateway", i, resp.StatusCode, resp.Header.Get(dpop.NonceHeader))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if exchanges != 2 {
		t.Errorf("exchange requests = %d, want 2 (use_dpop_nonce, then the token, cached after)", exchanges)
	}
	if len(jtis) != 3 || jtis[0] == jtis[1] || jtis[1] == jtis[2] {
		t.Errorf("upstream proofs %v: want one fresh proof per request", jtis)
	}
	if logs := gw.logs.String(); strings.Contains(logs, "eyJ") || strings.Contains(logs, "exchanged-dpop-") {
		t.Errorf("a token or a proof in the gateway's log: %s", logs)
	}
}
