package demo

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/dpop"
)

// The walkthrough's DPoP-bound tokens (RFC 9449): the browser app's tokens
// at the gateway, replayed with proofs for another URL, a proof seen
// before, another key's, and as plain Bearer tokens.

// proofTransport adds a DPoP proof of its key to every POST to the token
// endpoint (RFC 9449 §5), as the browser app's library does: the code
// redemption and every refresh of the spa client.
type proofTransport struct {
	signer   *dpop.Signer
	tokenURL string
	base     http.RoundTripper
}

// RoundTrip signs a proof for token requests and sends req with base.
func (t *proofTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.URL.String() != t.tokenURL {
		return t.base.RoundTrip(req)
	}
	proof, err := t.signer.Proof(req.Method, t.tokenURL, "", "")
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("demo: DPoP proof: %w", err)
	}
	r := req.Clone(req.Context())
	r.Header.Set(dpop.HeaderName, proof)
	return t.base.RoundTrip(r)
}

// spaClient is the walkthrough's HTTP client as the browser app: the
// token endpoint gets a proof of signer's key.
func (w *walker) spaClient(signer *dpop.Signer) *http.Client {
	c := *w.hc
	base := w.hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &proofTransport{signer: signer, tokenURL: w.env.Issuer + "/oauth2/token", base: base}
	return &c
}

// withDPoP calls rawURL with the DPoP-bound access token tok and a proof
// of signer's key made for proofMethod and proofURL (the request's own, or
// another's to show the refusal); proof, when set, is sent instead.
func (w *walker) withDPoP(method, rawURL, tok string, signer *dpop.Signer, proof string) result {
	if proof == "" {
		var err error
		if proof, err = signer.Proof(method, rawURL, tok, ""); err != nil {
			return result{err: err}
		}
	}
	return w.do(method, rawURL, "", nil, "Authorization", dpop.Scheme+" "+tok, dpop.HeaderName, proof)
}

// dpopSteps are the browser app's DPoP-bound token at the gateway: good
// with a proof of this request, refused with a proof of another URL, a
// proof seen before, or as a plain Bearer token; renewed with a proof of
// the same key.
func (w *walker) dpopSteps(tok *oauth2.Token, signer *dpop.Signer) {
	gw := w.env.GatewayURL
	list := gw + "/api/orders"
	proof, err := signer.Proof("GET", list, tok.AccessToken, "")
	if err != nil {
		w.check("003", "DPoP proof", "a proof", "none", false, err.Error())
		return
	}
	r := w.withDPoP("GET", list, tok.AccessToken, signer, proof)
	w.step("003", "spa token: GET /api/orders, Authorization: DPoP + proof", 200, r.status, true,
		"gateway and orders check the proof: method, URL, ath, jkt")
	r = w.withDPoP("GET", list, tok.AccessToken, signer, proof)
	w.step("003", "DPoP: the same proof again (replayed jti)", 401, r.status, isDPoPChallenge(r),
		"WWW-Authenticate: "+r.header.Get("WWW-Authenticate"))
	other, _ := signer.Proof("GET", list, tok.AccessToken, "")
	r = w.withDPoP("GET", gw+"/api/orders/A-1001", tok.AccessToken, signer, other)
	w.step("003", "DPoP: GET /api/orders/A-1001 with a proof for /api/orders", 401, r.status, isDPoPChallenge(r),
		"WWW-Authenticate: "+r.header.Get("WWW-Authenticate"))
	r = w.do("GET", list, tok.AccessToken, nil)
	w.step("003", "DPoP-bound token as plain Bearer (no proof)", 401, r.status, true, fmt.Sprint(r.json()["detail"]))
	thief, _ := dpop.GenerateSigner()
	r = w.withDPoP("GET", list, tok.AccessToken, thief, "")
	w.step("003", "DPoP: a proof signed by another key (the thief's)", 401, r.status, isDPoPChallenge(r),
		"WWW-Authenticate: "+r.header.Get("WWW-Authenticate"))
}

// isDPoPChallenge reports whether r carries RFC 9449 §7.1's challenge of
// a bad proof.
func isDPoPChallenge(r result) bool {
	ch := r.header.Get("WWW-Authenticate")
	return strings.HasPrefix(ch, dpop.Scheme+" ") && strings.Contains(ch, `error="`+dpop.ErrorInvalidProof+`"`)
}

// spaRefresh renews tok with the refresh token, with a proof of signer's
// key (a public client's refresh token is bound to it, RFC 9449 §5).
func (w *walker) spaRefresh(tok *oauth2.Token, signer *dpop.Signer) (*oauth2.Token, error) {
	stale := *tok
	stale.Expiry = time.Now().Add(-time.Minute) // pretend it expired: the token source refreshes
	ctx := context.WithValue(w.ctx, oauth2.HTTPClient, w.spaClient(signer))
	return spaConfig(w.env).TokenSource(ctx, &stale).Token()
}

// boundTo describes the DPoP binding of an access token.
func boundTo(raw string, signer *dpop.Signer) (string, bool) {
	c := claims(raw)
	if c.Confirmation == nil || c.Confirmation.JKT == "" {
		return "no cnf.jkt", false
	}
	return "cnf.jkt=" + c.Confirmation.JKT[:12] + "… (the app's key)", c.Confirmation.JKT == signer.JKT()
}
