package relay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// dpopAS is a token endpoint that checks DPoP proofs with package dpop
// (RFC 9449 §5), asks for a server nonce when nonce is set (§8), and
// issues opaque tokens it remembers the jkt of.
type dpopAS struct {
	*httptest.Server
	v      *dpop.Verifier
	nonce  bool
	answer func(w http.ResponseWriter, r *http.Request, tok string) bool // true: answered

	mu     sync.Mutex
	hits   int
	jkt    map[string]string // token → cnf.jkt
	forms  []map[string][]string
	proofs []string
}

func newDPoPAS(t *testing.T, nonce bool) *dpopAS {
	t.Helper()
	ns, err := dpop.NewNonces([]byte("0123456789abcdef0123456789abcdef"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dpop.NewVerifier(dpop.WithNonces(ns))
	if err != nil {
		t.Fatal(err)
	}
	as := &dpopAS{v: v, nonce: nonce, jkt: map[string]string{}}
	as.Server = httptest.NewServer(http.HandlerFunc(as.serve))
	t.Cleanup(as.Close)
	return as
}

func (as *dpopAS) serve(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	as.mu.Lock()
	as.hits++
	n := as.hits
	as.forms = append(as.forms, r.PostForm)
	as.mu.Unlock()
	oauthError := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":%q}`, code)
	}
	proof, err := dpop.HeaderProof(r.Header)
	if err != nil || proof == "" {
		oauthError(dpop.ErrorInvalidProof)
		return
	}
	as.mu.Lock()
	as.proofs = append(as.proofs, proof)
	as.mu.Unlock()
	p, err := as.v.Verify(r.Context(), proof, dpop.Request{Method: r.Method, URL: as.URL + r.URL.Path, Nonce: as.nonce})
	var ne *dpop.NonceError
	switch {
	case errors.As(err, &ne):
		w.Header().Set(dpop.NonceHeader, ne.Nonce)
		oauthError(dpop.ErrorUseNonce)
		return
	case err != nil:
		oauthError(dpop.ErrorInvalidProof)
		return
	}
	tok := fmt.Sprintf("dpop-token-%d", n)
	as.mu.Lock()
	as.jkt[tok] = p.JKT
	as.mu.Unlock()
	if as.answer != nil && as.answer(w, r, tok) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "DPoP", "expires_in": 300,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
}

func (as *dpopAS) boundTo(tok string) string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.jkt[tok]
}

func (as *dpopAS) count() int {
	as.mu.Lock()
	defer as.mu.Unlock()
	return as.hits
}

// dpopRS is a resource server that checks DPoP-bound tokens of as: the
// scheme, the proof for this method and URL, ath, the key of the token's
// jkt, replay, and a nonce when nonce is set (RFC 9449 §7, §9). The
// first fail attempts that pass are answered 503.
type dpopRS struct {
	*httptest.Server
	as    *dpopAS
	v     *dpop.Verifier
	nonce bool
	fail  atomic.Int32

	mu      sync.Mutex
	hits    int
	jtis    []string
	refused []string // the WWW-Authenticate errors sent
	tokens  []string
}

func newDPoPRS(t *testing.T, as *dpopAS, nonce bool) *dpopRS {
	t.Helper()
	ns, err := dpop.NewNonces([]byte("fedcba9876543210fedcba9876543210"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v, err := dpop.NewVerifier(dpop.WithNonces(ns))
	if err != nil {
		t.Fatal(err)
	}
	rs := &dpopRS{as: as, v: v, nonce: nonce}
	rs.Server = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *dpopRS) serve(w http.ResponseWriter, r *http.Request) {
	rs.mu.Lock()
	rs.hits++
	rs.mu.Unlock()
	refuse := func(code string, nonce string) {
		rs.mu.Lock()
		rs.refused = append(rs.refused, code)
		rs.mu.Unlock()
		if nonce != "" {
			w.Header().Set(dpop.NonceHeader, nonce)
		}
		w.Header().Set("WWW-Authenticate", dpop.Challenge(rs.v.Algorithms(), code, "refused"))
		w.WriteHeader(http.StatusUnauthorized)
	}
	tok, ok := dpop.AuthorizationToken(r.Header.Get("Authorization"))
	if !ok {
		refuse("invalid_token", "")
		return
	}
	proof, err := dpop.HeaderProof(r.Header)
	if err != nil || proof == "" {
		refuse(dpop.ErrorInvalidProof, "")
		return
	}
	p, err := rs.v.Verify(r.Context(), proof, dpop.Request{Method: r.Method, URL: rs.URL + r.URL.RequestURI(),
		AccessToken: tok, JKT: rs.as.boundTo(tok), Nonce: rs.nonce})
	var ne *dpop.NonceError
	switch {
	case errors.As(err, &ne):
		refuse(dpop.ErrorUseNonce, ne.Nonce)
		return
	case err != nil:
		refuse(dpop.ErrorInvalidProof, "")
		return
	}
	rs.mu.Lock()
	rs.jtis = append(rs.jtis, p.ID)
	rs.tokens = append(rs.tokens, tok)
	rs.mu.Unlock()
	if rs.fail.Add(-1) >= 0 {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprint(w, "ok")
}

func dpopClientCredentials(t *testing.T, as *dpopAS, s *dpop.Signer) *relay.ClientCredentials {
	t.Helper()
	src, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
		OAuth2: clientcredentials.Config{ClientID: "orders", ClientSecret: "orders-secret", TokenURL: as.URL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader}, // no second try of x/oauth2's auto-detection
		DPoP: s,
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func signer(t *testing.T) *dpop.Signer {
	t.Helper()
	s, err := dpop.GenerateSigner()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fastRetries() []relay.Option {
	return []relay.Option{relay.WithRetries(2), relay.WithBackoff(time.Millisecond, time.Millisecond, 0)}
}

func getStatus(t *testing.T, ctx context.Context, c *http.Client, u string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// Client credentials with DPoP: the token request carries a proof and is
// made again once with the auth server's nonce; the token is DPoP; each
// call presents it with the DPoP scheme and a proof of its own (the
// resource server's replay cache refuses a proof seen before), with the
// resource server's nonce after one use_dpop_nonce answer, remembered.
func TestDPoPClientCredentials(t *testing.T) {
	as := newDPoPAS(t, true)
	rs := newDPoPRS(t, as, true)
	s := signer(t)
	c := relayClient(t, dpopClientCredentials(t, as, s))
	for i := range 3 {
		if st := getStatus(t, context.Background(), c, rs.URL+"/orders/42?expand=lines#top"); st != http.StatusOK {
			t.Fatalf("call %d: status %d, refusals %v", i, st, rs.refused)
		}
	}
	if n := as.count(); n != 2 {
		t.Errorf("token endpoint hits = %d, want 2 (use_dpop_nonce, then the token)", n)
	}
	if rs.hits != 4 || len(rs.refused) != 1 || rs.refused[0] != dpop.ErrorUseNonce {
		t.Errorf("resource server: %d hits, refusals %v; want 4 hits and one use_dpop_nonce", rs.hits, rs.refused)
	}
	if len(rs.jtis) != 3 || rs.jtis[0] == rs.jtis[1] || rs.jtis[1] == rs.jtis[2] {
		t.Errorf("proof ids %v: want one fresh proof per call", rs.jtis)
	}
	if got := as.boundTo(rs.tokens[0]); got != s.JKT() {
		t.Errorf("token bound to %q, want the signer's %q", got, s.JKT())
	}
}

// A retry of the resilience layer (after a 503) carries a proof of its
// own: the resource server refuses a proof it has seen, so a proof made
// once per call would fail the retry.
func TestDPoPProofPerRetry(t *testing.T) {
	as := newDPoPAS(t, false)
	rs := newDPoPRS(t, as, false)
	rs.fail.Store(2)
	c := relayClient(t, dpopClientCredentials(t, as, signer(t)), fastRetries()...)
	if st := getStatus(t, context.Background(), c, rs.URL+"/orders"); st != http.StatusOK {
		t.Fatalf("status %d, refusals %v", st, rs.refused)
	}
	if len(rs.jtis) != 3 || len(rs.refused) != 0 {
		t.Fatalf("proofs accepted %d, refusals %v: want 3 attempts, each with an accepted proof", len(rs.jtis), rs.refused)
	}
	seen := map[string]bool{}
	for _, j := range rs.jtis {
		if seen[j] {
			t.Fatalf("jti %s sent twice", j)
		}
		seen[j] = true
	}
}

// A proof is for one request: replayed for another URL, for another
// method, or again, the resource server refuses it (the attacks relay's
// proofs must not make possible).
func TestDPoPProofReplayRefused(t *testing.T) {
	as := newDPoPAS(t, false)
	rs := newDPoPRS(t, as, false)
	var captured http.Header
	capture := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		captured = r.Header.Clone()
		return http.DefaultTransport.RoundTrip(r)
	})
	tr, err := relay.NewTransport(capture, dpopClientCredentials(t, as, signer(t)))
	if err != nil {
		t.Fatal(err)
	}
	if st := getStatus(t, context.Background(), &http.Client{Transport: tr}, rs.URL+"/orders"); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	for _, tc := range []struct{ name, method, path string }{
		{"same request again", http.MethodGet, "/orders"},
		{"another URL", http.MethodGet, "/payments"},
		{"another method", http.MethodDelete, "/orders"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, rs.URL+tc.path, nil)
			req.Header = captured.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), dpop.ErrorInvalidProof) {
				t.Fatalf("replay: status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// Token exchange with DPoP: the exchange request carries a proof (and the
// nonce after use_dpop_nonce), the exchanged token is DPoP-bound and sent
// with a proof.
func TestDPoPExchange(t *testing.T) {
	as := newDPoPAS(t, true)
	rs := newDPoPRS(t, as, false)
	s := signer(t)
	ex, err := relay.NewExchange(relay.ExchangeConfig{TokenURL: as.URL + "/oauth2/token", ClientID: "gateway",
		ClientSecret: "gateway-secret", Audience: "orders", DPoP: s})
	if err != nil {
		t.Fatal(err)
	}
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	ctx, raw := callerContext(t, iss, token.Claims{Subject: "alice"})
	c := relayClient(t, ex)
	for range 2 {
		if st := getStatus(t, ctx, c, rs.URL+"/orders"); st != http.StatusOK {
			t.Fatalf("status %d, refusals %v", st, rs.refused)
		}
	}
	if as.count() != 2 || as.forms[1]["subject_token"][0] != raw {
		t.Fatalf("token endpoint: %d hits; want the nonce round trip and one exchange of the caller's token", as.count())
	}
	if len(rs.jtis) != 2 || rs.jtis[0] == rs.jtis[1] || as.boundTo(rs.tokens[0]) != s.JKT() {
		t.Fatalf("resource server: proofs %v", rs.jtis)
	}
}

// The answers relay refuses or passes on from a token endpoint asked with
// a proof.
func TestDPoPTokenEndpointAnswers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, tok string)
		want   string
	}{
		{"bearer token to a DPoP request", func(w http.ResponseWriter, tok string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":300}`, tok)
		}, `token_type "Bearer", want DPoP`},
		{"another error with a nonce", func(w http.ResponseWriter, _ string) {
			w.Header().Set(dpop.NonceHeader, "n-1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"unknown client"}`)
		}, "HTTP 400 invalid_client: unknown client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as := newDPoPAS(t, false)
			as.answer = func(w http.ResponseWriter, _ *http.Request, tok string) bool { tc.answer(w, tok); return true }
			_, err := dpopClientCredentials(t, as, signer(t)).Token(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if as.count() != 1 {
				t.Fatalf("token endpoint hits = %d, want 1 (no nonce retry)", as.count())
			}
		})
	}
}

// A token endpoint that echoes the request's proof in its error: the error
// relay returns (and the gateway logs) does not hold it.
func TestDPoPProofNeverInErrors(t *testing.T) {
	as := newDPoPAS(t, false)
	as.answer = func(w http.ResponseWriter, r *http.Request, _ string) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "bad proof " + r.Header.Get("DPoP")})
		return true
	}
	_, err := dpopClientCredentials(t, as, signer(t)).Token(context.Background())
	if err == nil || len(as.proofs) != 1 {
		t.Fatalf("error %v, %d proofs", err, len(as.proofs))
	}
	if strings.Contains(err.Error(), as.proofs[0]) || strings.Contains(err.Error(), strings.Split(as.proofs[0], ".")[1]) {
		t.Fatalf("the error quotes the proof: %v", err)
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error %v", err)
	}
}

// Relay passes on the caller's token; a caller token bound to the
// caller's key or certificate cannot be proven by relay and is refused,
// unless the caller asked for it to go as a plain Bearer token.
func TestRelayRefusesBoundCallerToken(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("profiles"))
	for _, tc := range []struct {
		name   string
		cnf    *token.Confirmation
		unsafe bool
		want   error
	}{
		{"DPoP-bound", &token.Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}, false, relay.ErrBoundToken},
		{"certificate-bound", &token.Confirmation{X5TS256: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}, false, relay.ErrBoundToken},
		{"DPoP-bound, passed on as asked", &token.Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}, true, nil},
		{"bearer", nil, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.Header.Get("DPoP") != "" {
					t.Errorf("Authorization %q, DPoP %q", r.Header.Get("Authorization"), r.Header.Get("DPoP"))
				}
			}))
			defer b.Close()
			ctx, _ := callerContext(t, iss, token.Claims{Subject: "alice", Confirmation: tc.cnf})
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.URL, nil)
			req.Header.Set("DPoP", "a-proof-copied-from-the-incoming-request") // never passed on
			resp, err := relayClient(t, relay.Relay{UnsafePassBoundTokens: tc.unsafe}).Do(req)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || hits.Load() != 0 {
					t.Fatalf("error %v, %d requests sent; want %v and none", err, hits.Load(), tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if hits.Load() != 1 {
				t.Fatal("not sent")
			}
		})
	}
}
