package gateway

import (
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
// "Authorization: DPoP <token>" and a fresh proof for each upstream
// request (htm, htu of the upstream URL without query, ath), with the
// upstream's last DPoP-Nonce. The proxy does not repeat a request the
// upstream refused with use_dpop_nonce (it streams bodies): that request
// is answered as the upstream answered, and the next one carries the
// nonce.

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
// with the DPoP scheme and a proof for this request. A DPoP header from
// the client (its proof for the gateway) never goes upstream.
func (rt *route) setExchanged(out *http.Request, tok string) {
	delete(out.Header, "Dpop")
	b := rt.bound
	if b == nil {
		out.Header["Authorization"] = []string{"Bearer " + tok}
		return
	}
	b.mu.Lock()
	nonce := b.nonces[out.URL.Host]
	b.mu.Unlock()
	proof, err := b.signer.Proof(out.Method, out.URL.String(), tok, nonce) // htu: Proof drops the query
	if err != nil {
		// Without a proof the upstream refuses the token: say why here.
		rt.g.log.LogAttrs(out.Context(), 8, "DPoP proof for the upstream failed", attrRoute(rt.name), attrErr(err))
	} else {
		out.Header["Dpop"] = []string{proof}
	}
	out.Header["Authorization"] = []string{"DPoP " + tok}
}

// rememberNonce keeps the upstream's DPoP-Nonce (RFC 9449 §9) for the
// next request to it, and does not pass it to the client: it is the
// gateway's.
func (rt *route) rememberNonce(resp *http.Response) {
	b := rt.bound
	if b == nil || resp.Request == nil {
		return
	}
	v := resp.Header["Dpop-Nonce"]
	delete(resp.Header, "Dpop-Nonce")
	if len(v) != 1 || len(v[0]) > 512 || strings.ContainsAny(v[0], "\" \\\t\r\n") {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.nonces[resp.Request.URL.Host]; ok || len(b.nonces) < 1024 {
		b.nonces[resp.Request.URL.Host] = v[0]
	}
}

// key is the route's DPoP key, nil without exchange.dpop.
func (b *boundExchange) key() *dpop.Signer {
	if b == nil {
		return nil
	}
	return b.signer
}
