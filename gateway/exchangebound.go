package gateway

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/gatehousehq/gatehouse/dpop"
)

// The exchange step with a DPoP-bound token (routes[].exchange.dpop, RFC
// 9449): the route holds a DPoP key of its own, generated when the route
// is built (a reload makes a new one, with a new exchanged-token cache);
// relay's Exchange signs a proof with it for each exchange request and
// keeps only tokens of token_type DPoP; the proxy step then sends
// "Authorization: DPoP <token>", and the route's transport signs a fresh
// proof for each upstream request (htm, htu of the upstream URL without
// query, ath), with the upstream's last DPoP-Nonce. A request without a
// body that the upstream refused with use_dpop_nonce is sent once more
// with the new nonce and a new proof; one with a body is not (the proxy
// streams it): it is answered as the upstream answered, and the next
// request carries the nonce.

// boundExchange is a route's DPoP key and the upstreams' last nonces.
type boundExchange struct {
	signer *dpop.Signer
	mu     sync.Mutex
	nonces map[string]string // upstream host → its last DPoP-Nonce
}

// newBoundExchange generates the route's DPoP key.
func newBoundExchange() (*boundExchange, error) {
	s, err := dpop.GenerateSigner()
	if err != nil {
		return nil, err
	}
	return &boundExchange{signer: s, nonces: map[string]string{}}, nil
}

// setExchanged sets the exchanged token tok on out: as a Bearer token, or
// with the DPoP scheme, for the route's transport to sign a proof. A DPoP
// header from the client (its proof for the gateway) never goes upstream.
func (rt *route) setExchanged(out *http.Request, tok string) {
	delete(out.Header, "Dpop")
	if rt.bound == nil {
		out.Header["Authorization"] = []string{"Bearer " + tok}
		return
	}
	out.Header["Authorization"] = []string{"DPoP " + tok}
}

// transport returns next signing a proof for each request with a DPoP
// token (boundTransport).
func (b *boundExchange) transport(next http.RoundTripper) http.RoundTripper {
	return &boundTransport{b: b, next: next}
}

// boundTransport is the upstream transport of a route with exchange.dpop.
type boundTransport struct {
	b    *boundExchange
	next http.RoundTripper
}

func (t *boundTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, ok := dpop.AuthorizationToken(req.Header.Get("Authorization"))
	if !ok {
		return t.next.RoundTrip(req)
	}
	out, err := t.b.signed(req, tok, t.b.nonce(req.URL.Host))
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.next.RoundTrip(out)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || (req.Body != nil && req.Body != http.NoBody) {
		return resp, err
	}
	nonce := t.b.remember(req.URL.Host, resp.Header)
	if nonce == "" || !strings.Contains(strings.Join(resp.Header.Values("Www-Authenticate"), ","), dpop.ErrorUseNonce) {
		return resp, nil
	}
	// RFC 9449 §9: once more, with the upstream's nonce and a new proof.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if out, err = t.b.signed(req, tok, nonce); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(out)
}

// signed is a copy of req with a fresh proof for it (htu: Proof drops
// the query).
func (b *boundExchange) signed(req *http.Request, tok, nonce string) (*http.Request, error) {
	proof, err := b.signer.Proof(req.Method, req.URL.String(), tok, nonce)
	if err != nil {
		return nil, fmt.Errorf("gateway: DPoP proof for the upstream: %w", err)
	}
	out := req.Clone(req.Context())
	out.Header["Dpop"] = []string{proof}
	return out, nil
}

func (b *boundExchange) nonce(host string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.nonces[host]
}

// rememberNonce keeps the upstream's DPoP-Nonce (RFC 9449 §9) for the
// next request to it, and does not pass it to the client: it is the
// gateway's.
func (rt *route) rememberNonce(resp *http.Response) {
	if rt.bound == nil || resp.Request == nil {
		return
	}
	rt.bound.remember(resp.Request.URL.Host, resp.Header)
	delete(resp.Header, "Dpop-Nonce")
}

// remember keeps the DPoP-Nonce of h for host and returns it ("" when
// there is none, or it is not a nonce: RFC 9449 §8.1).
func (b *boundExchange) remember(host string, h http.Header) string {
	v := h["Dpop-Nonce"]
	if len(v) != 1 || v[0] == "" || len(v[0]) > 512 || strings.ContainsAny(v[0], "\" \\\t\r\n") {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.nonces[host]; ok || len(b.nonces) < 1024 {
		b.nonces[host] = v[0]
	}
	return v[0]
}

// key is the route's DPoP key, nil without exchange.dpop.
func (b *boundExchange) key() *dpop.Signer {
	if b == nil {
		return nil
	}
	return b.signer
}
