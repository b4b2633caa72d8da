package guard_test

// Each theft of a sender-constrained token, tried and refused: 401, the
// error code, the WWW-Authenticate challenge. This file holds what the
// binding tests share, and RequireBound and AuthorizeCall over both
// bindings; the certificate thefts are in binding_cert_test.go, the DPoP
// ones in binding_dpop_test.go.

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/token"
)

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })

func serveReq(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// assertRefused checks the status and that the first challenge starts
// with challenge.
func assertRefused(t *testing.T, rec *httptest.ResponseRecorder, status int, challenge string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, challenge) {
		t.Fatalf("challenge %q, want it to start with %q", got, challenge)
	}
}

const (
	dpopProofChallenge = `DPoP realm="orders", error="invalid_dpop_proof"`
	dpopTokenChallenge = `DPoP realm="orders", error="invalid_token"`
	bearerChallenge    = `Bearer realm="orders", error="invalid_token"`
)

func TestRequireBound(t *testing.T) {
	d := newDPoPFixture(t, nil)
	alice := clientCert(t, "alice")
	certTok := d.iss.Token(token.Claims{Confirmation: boundTo(alice)})
	withCert := func(r *http.Request) *http.Request {
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{mustParse(t, alice)}}
		return r
	}
	any := d.g.Require(guard.RequireBound(), okHandler)
	onlyDPoP := d.g.Require(guard.RequireBound(guard.BindingDPoP), okHandler)
	assertRefused(t, serveReq(any, dpopReq("GET", "Bearer", d.iss.Token(token.Claims{}))), http.StatusUnauthorized, bearerChallenge)
	if rec := serveReq(any, withCert(dpopReq("GET", "Bearer", certTok))); rec.Code != http.StatusOK {
		t.Fatalf("certificate-bound: %d", rec.Code)
	}
	if rec := serveReq(any, dpopReq("GET", "DPoP", d.raw, d.proof(t, "GET", dpopURL, d.raw))); rec.Code != http.StatusOK {
		t.Fatalf("DPoP-bound: %d", rec.Code)
	}
	assertRefused(t, serveReq(onlyDPoP, withCert(dpopReq("GET", "Bearer", certTok))), http.StatusUnauthorized, bearerChallenge)
}

func TestCallBinding(t *testing.T) {
	d := newDPoPFixture(t, nil)
	alice, mallory := clientCert(t, "alice"), clientCert(t, "mallory")
	call := func(auth string, cert *tls.Certificate, proofs ...string) *guard.Refusal {
		r := httptest.NewRequest(http.MethodPost, "/orders.v1.Orders/Get", nil)
		r.Header.Set("Authorization", auth)
		for _, p := range proofs {
			r.Header.Add("DPoP", p)
		}
		if cert != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{mustParse(t, *cert)}}
		}
		_, ref := d.g.AuthorizeCall(r)
		return ref
	}
	certTok := d.iss.Token(token.Claims{Confirmation: boundTo(alice)})
	if ref := call("Bearer "+certTok, &alice); ref != nil {
		t.Fatalf("certificate-bound over the right peer: %v", ref)
	}
	for name, ref := range map[string]*guard.Refusal{
		"another peer certificate": call("Bearer "+certTok, &mallory),
		"no peer certificate":      call("Bearer "+certTok, nil),
		"DPoP-bound":               call("DPoP "+d.raw, nil, d.proof(t, "POST", "https://orders.example/orders.v1.Orders/Get", d.raw)),
		"DPoP-bound as Bearer":     call("Bearer "+d.raw, nil),
	} {
		if ref == nil || ref.Reason != guard.ReasonInvalidToken {
			t.Errorf("%s: %v", name, ref)
		}
	}
}
