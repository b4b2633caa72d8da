package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gatehousehq/gatehouse/dpop"
)

// DPoP (RFC 9449) on the client side: the proofs of the token requests
// (§5) and of the calls that present a DPoP-bound token (§7), and the
// server nonces both may ask for (§8, §9).
//
// A source built with a [dpop.Signer] (ExchangeConfig.DPoP,
// ClientCredentialsConfig.DPoP) sends a proof with every token request and
// accepts only token_type DPoP; it is a [BoundSource], so the [Transport]
// over it sends "Authorization: DPoP <token>". The proof of a call is made
// below the resilience layer, once per attempt: every retry, and the one
// repeat after a use_dpop_nonce answer, carries a proof of its own (a new
// jti), since a resource server refuses a proof it has seen.

// BoundSource is a [Source] whose tokens are DPoP-bound (RFC 9449): the
// [Transport] presents them with the DPoP scheme and a fresh proof, signed
// by DPoPSigner, for every attempt of every call. [Exchange] and
// [ClientCredentials] are BoundSources; their DPoPSigner is nil (bearer or
// certificate-bound tokens) unless they were configured with one.
type BoundSource interface {
	Source
	// DPoPSigner is the key the tokens are bound to, nil for tokens sent
	// with the Bearer scheme.
	DPoPSigner() *dpop.Signer
}

// signerOf is the DPoP key of src's tokens, nil when they are bearer
// tokens.
func signerOf(src Source) *dpop.Signer {
	if b, ok := src.(BoundSource); ok {
		return b.DPoPSigner()
	}
	return nil
}

// DPoP header names and the RFC 9449 §8 error code.
const (
	headerDPoP      = "Dpop"       // canonical form of dpop.HeaderName
	headerDPoPNonce = "Dpop-Nonce" // canonical form of dpop.NonceHeader
	maxNonceLen     = 512          // a longer DPoP-Nonce is not remembered
	maxNonceOrigins = 1024
)

// proofFor is what the Transport tells the proof layer below the
// resilience layer: sign each attempt with signer for tok.
type proofFor struct {
	signer *dpop.Signer
	tok    string
}

type proofKey struct{}

// withProofs returns ctx asking the proof layer for a proof per attempt.
func withProofs(ctx context.Context, s *dpop.Signer, tok string) context.Context {
	return context.WithValue(ctx, proofKey{}, proofFor{signer: s, tok: tok})
}

// proofLayer signs a DPoP proof for each request that its context asks
// for (withProofs) and repeats a request once when the resource server
// answers 401 with error="use_dpop_nonce" and a DPoP-Nonce (RFC 9449 §9).
// Requests that ask for nothing pass through untouched. It sits between a
// Resilient and its base, so each attempt gets its own proof.
type proofLayer struct {
	next   http.RoundTripper
	nonces *nonceCache
}

func (p *proofLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	pf, ok := req.Context().Value(proofKey{}).(proofFor)
	if !ok || pf.signer == nil {
		return p.next.RoundTrip(req)
	}
	closeBody := hasBody(req)
	defer func() {
		if closeBody {
			req.Body.Close()
		}
	}()
	origin := originOf(req.URL)
	a, err := p.signed(req, req.Body, pf, p.nonces.get(origin))
	if err != nil {
		return nil, err
	}
	closeBody = false
	resp, err := p.next.RoundTrip(a)
	if err != nil {
		return nil, err
	}
	nonce := p.nonces.remember(origin, resp.Header)
	if resp.StatusCode != http.StatusUnauthorized || nonce == "" || !dpopChallenge(resp.Header, dpop.ErrorUseNonce) || !replayable(req) {
		return resp, nil
	}
	// RFC 9449 §9: the resource server wants a nonce; once more with it.
	drainClose(resp.Body)
	body := req.Body
	if hasBody(req) {
		if body, err = req.GetBody(); err != nil {
			return nil, relayErr("copy the request body: %w", err)
		}
	}
	if a, err = p.signed(req, body, pf, nonce); err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	resp, err = p.next.RoundTrip(a)
	if err == nil {
		p.nonces.remember(origin, resp.Header)
	}
	return resp, err
}

// signed returns a clone of req with body, a DPoP Authorization and a
// fresh proof for its method and URL (RFC 9449 §4.2: htu without query
// and fragment; ath the token's hash; nonce when the server gave one).
func (p *proofLayer) signed(req *http.Request, body io.ReadCloser, pf proofFor, nonce string) (*http.Request, error) {
	proof, err := pf.signer.Proof(req.Method, targetURI(req.URL), pf.tok, nonce)
	if err != nil {
		return nil, relayErr("sign a DPoP proof for %s %s: %w", req.Method, req.URL.Host, err)
	}
	a := req.Clone(req.Context())
	a.Body = body
	a.Header.Set("Authorization", "DPoP "+pf.tok)
	a.Header[headerDPoP] = []string{proof}
	return a, nil
}

// tokenProofs is the transport of a token client whose source holds a
// DPoP key: every token request carries a fresh proof (RFC 9449 §5), and
// an answer 400 use_dpop_nonce with a DPoP-Nonce is followed by one more
// request with that nonce (§8). The nonce is remembered per origin for
// the next token requests.
type tokenProofs struct {
	signer *dpop.Signer
	next   http.RoundTripper
	nonces *nonceCache
}

// withTokenProofs returns hc (a tokenClient) signing proofs with s; hc
// itself when s is nil.
func withTokenProofs(hc *http.Client, s *dpop.Signer) *http.Client {
	if s == nil {
		return hc
	}
	c := *hc
	c.Transport = &tokenProofs{signer: s, next: hc.Transport, nonces: newNonceCache()}
	return &c
}

func (t *tokenProofs) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := hasBody(req)
	defer func() {
		if closeBody {
			req.Body.Close()
		}
	}()
	origin := originOf(req.URL)
	a, err := t.signed(req, req.Body, t.nonces.get(origin))
	if err != nil {
		return nil, err
	}
	closeBody = false
	resp, err := t.next.RoundTrip(a)
	if err != nil {
		return nil, err
	}
	nonce := t.nonces.remember(origin, resp.Header)
	if resp.StatusCode != http.StatusBadRequest || nonce == "" || !replayable(req) {
		return resp, nil
	}
	// The error code is in the body: read it (within the token client's
	// limit), and give it back whole when it is another error.
	raw, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rerr != nil {
		return nil, fmt.Errorf("token endpoint answer: %w", rerr)
	}
	var er errorResponse
	if json.Unmarshal(raw, &er) != nil || er.Error != dpop.ErrorUseNonce {
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		return resp, nil
	}
	body := req.Body
	if hasBody(req) {
		if body, err = req.GetBody(); err != nil {
			return nil, fmt.Errorf("copy the token request: %w", err)
		}
	}
	if a, err = t.signed(req, body, nonce); err != nil {
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	resp, err = t.next.RoundTrip(a)
	if err == nil {
		t.nonces.remember(origin, resp.Header)
	}
	return resp, err
}

func (t *tokenProofs) signed(req *http.Request, body io.ReadCloser, nonce string) (*http.Request, error) {
	proof, err := t.signer.Proof(req.Method, targetURI(req.URL), "", nonce)
	if err != nil {
		return nil, fmt.Errorf("sign a DPoP proof for the token request: %w", err)
	}
	a := req.Clone(req.Context())
	a.Body = body
	a.Header[headerDPoP] = []string{proof}
	return a, nil
}

// checkTokenType checks the token_type of a token endpoint answer against
// what was asked: DPoP when the request carried a proof (RFC 9449 §5: a
// server that answers Bearer did not bind the token, and sending it as
// DPoP would be refused), Bearer otherwise.
func checkTokenType(got string, s *dpop.Signer) error {
	want := "Bearer"
	if s != nil {
		want = dpop.TokenTypeBound
	}
	if !strings.EqualFold(got, want) {
		return fmt.Errorf("token endpoint issued token_type %q, want %s", got, want)
	}
	return nil
}

// targetURI is the htu of a proof: scheme, host and path of u, without
// query and fragment (RFC 9449 §4.2).
func targetURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + p
}

// originOf names the server whose nonces a request uses.
func originOf(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(hostPort(u))
}

// nonceCache remembers the last DPoP-Nonce of each origin (RFC 9449 §8.2,
// §9: a server may send a new one in any answer). It holds at most
// maxNonceOrigins origins; a nonce is no secret, but it is never logged.
type nonceCache struct {
	mu sync.Mutex
	m  map[string]string
}

func newNonceCache() *nonceCache { return &nonceCache{m: map[string]string{}} }

func (c *nonceCache) get(origin string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[origin]
}

// remember keeps the DPoP-Nonce of h for origin, and returns it ("" when
// h has none, or one that is not a valid nonce: RFC 9449 §8.1, 1*NQCHAR).
func (c *nonceCache) remember(origin string, h http.Header) string {
	v := h[headerDPoPNonce]
	if len(v) != 1 || !validNonce(v[0]) {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[origin]; !ok && len(c.m) >= maxNonceOrigins {
		for k := range c.m { // drop one: a nonce is cheap to get again
			delete(c.m, k)
			break
		}
	}
	c.m[origin] = v[0]
	return v[0]
}

// validNonce: NQCHAR = %x21 / %x23-5B / %x5D-7E (RFC 9449 §8.1).
func validNonce(s string) bool {
	if s == "" || len(s) > maxNonceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
