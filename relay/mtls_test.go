package relay_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
	"github.com/gatehousehq/gatehouse/workload"
)

// mtlsEnv is a workload CA, an identity for the client (orders), and two
// servers over mutual TLS: a token endpoint that authenticates orders by
// its certificate (tls_client_auth: client_id, no secret) and binds its
// tokens to it (RFC 8705 §3), and a resource server that accepts a token
// only over a connection with the certificate it is bound to.
type mtlsEnv struct {
	ca     *workload.CA
	orders *workload.Identity
	as, rs string // base URLs

	mu      sync.Mutex
	issued  int
	bound   map[string]string // token → x5t#S256
	sent    []string          // tokens the resource server accepted
	refused int
}

func newMTLSEnv(t *testing.T) *mtlsEnv {
	t.Helper()
	td := spiffeid.RequireTrustDomainFromString("example.org")
	ca, err := workload.NewCA(td)
	if err != nil {
		t.Fatal(err)
	}
	identity := func(name string) *workload.Identity {
		i, err := workload.NewIdentity(ca, spiffeid.RequireFromPath(td, "/"+name), workload.WithCheckEvery(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { i.Close() })
		return i
	}
	e := &mtlsEnv{ca: ca, orders: identity("orders"), bound: map[string]string{}}
	serve := func(name string, h http.HandlerFunc) string {
		srv := httptest.NewUnstartedServer(h)
		srv.Listener = tls.NewListener(srv.Listener, workload.ServerConfig(identity(name), ca.Bundle(), tlsconfig.AuthorizeAny()))
		srv.Start()
		t.Cleanup(srv.Close)
		return "https://" + srv.Listener.Addr().String()
	}
	e.as = serve("auth", e.token)
	e.rs = serve("payments", e.resource)
	return e
}

func (e *mtlsEnv) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if _, _, basic := r.BasicAuth(); basic || r.PostForm.Has("client_secret") || r.PostForm.Get("client_id") != "orders" || len(r.TLS.PeerCertificates) == 0 {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
		return
	}
	e.mu.Lock()
	e.issued++
	tok := fmt.Sprintf("cert-token-%d", e.issued)
	e.bound[tok] = token.CertificateThumbprint(r.TLS.PeerCertificates[0].Raw)
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 600,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
}

func (e *mtlsEnv) resource(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bound[tok] == "" || e.bound[tok] != token.CertificateThumbprint(r.TLS.PeerCertificates[0].Raw) {
		e.refused++
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="the token is bound to another certificate"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	e.sent = append(e.sent, tok)
}

func (e *mtlsEnv) mtls() relay.MTLS {
	return relay.MTLS{SVID: e.orders, TLSConfig: workload.ClientConfig(e.orders, e.ca.Bundle(), tlsconfig.AuthorizeAny())}
}

func (e *mtlsEnv) client(t *testing.T, src relay.Source) *http.Client {
	t.Helper()
	base, err := relay.NewCertTransport(e.mtls())
	if err != nil {
		t.Fatal(err)
	}
	tr, err := relay.NewTransport(base, src)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr}
}

func (e *mtlsEnv) snapshot() (issued int, sent []string, refused int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.issued, append([]string(nil), e.sent...), e.refused
}

// rotate renews the client's certificate and checks that the next call
// fetched a token bound to the new one and never sent the old one again.
func (e *mtlsEnv) rotateAndCheck(t *testing.T, call func() int) {
	t.Helper()
	for range 2 {
		if st := call(); st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
	}
	issued, sent, _ := e.snapshot()
	if issued != 1 || len(sent) != 2 || sent[0] != sent[1] {
		t.Fatalf("before rotation: %d tokens issued, sent %v; want one, cached", issued, sent)
	}
	old := sent[0]
	oldLeaf, _ := e.orders.GetX509SVID()
	if err := e.orders.Renew(); err != nil {
		t.Fatal(err)
	}
	newLeaf, _ := e.orders.GetX509SVID()
	if oldLeaf.Certificates[0].Equal(newLeaf.Certificates[0]) {
		t.Fatal("Renew kept the certificate")
	}
	if st := call(); st != http.StatusOK {
		t.Fatalf("after rotation: status %d", st)
	}
	issued, sent, refused := e.snapshot()
	if issued != 2 || refused != 0 || len(sent) != 3 || sent[2] == old {
		t.Fatalf("after rotation: %d issued, %d refused, sent %v; want a new token before the call, the old one never sent again", issued, refused, sent)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bound[sent[2]] != token.CertificateThumbprint(newLeaf.Certificates[0].Raw) {
		t.Fatal("the new token is not bound to the new certificate")
	}
}

// Client credentials over mTLS (tls_client_auth, certificate-bound
// tokens), and a certificate rotation that does not strand the service.
func TestMTLSClientCredentialsRotation(t *testing.T) {
	e := newMTLSEnv(t)
	m := e.mtls()
	src, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
		OAuth2: clientcredentials.Config{ClientID: "orders", TokenURL: e.as + "/oauth2/token"},
		MTLS:   &m,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t, src)
	e.rotateAndCheck(t, func() int { return getStatus(t, context.Background(), c, e.rs+"/payments") })
}

// Token exchange over mTLS: the exchanged tokens are cached per
// certificate, so a rotation exchanges again before the next call.
func TestMTLSExchangeRotation(t *testing.T) {
	e := newMTLSEnv(t)
	m := e.mtls()
	ex, err := relay.NewExchange(relay.ExchangeConfig{TokenURL: e.as + "/oauth2/token", ClientID: "orders",
		Audience: "payments", MTLS: &m})
	if err != nil {
		t.Fatal(err)
	}
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("orders"))
	ctx, _ := callerContext(t, iss, token.Claims{Subject: "alice"})
	c := e.client(t, ex)
	e.rotateAndCheck(t, func() int { return getStatus(t, ctx, c, e.rs+"/payments") })
}

// A token the downstream refuses as bound to another certificate (401
// invalid_token) is renewed once, over the current certificate.
func TestMTLSRenewsOnInvalidToken(t *testing.T) {
	e := newMTLSEnv(t)
	m := e.mtls()
	src, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
		OAuth2: clientcredentials.Config{ClientID: "orders", TokenURL: e.as + "/oauth2/token"},
		MTLS:   &m,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(t, src)
	if st := getStatus(t, context.Background(), c, e.rs+"/payments"); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	e.mu.Lock()
	for tok := range e.bound {
		e.bound[tok] = "another-certificate" // revoked binding: the next call is refused once
	}
	e.mu.Unlock()
	if st := getStatus(t, context.Background(), c, e.rs+"/payments"); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if issued, _, refused := e.snapshot(); issued != 2 || refused != 1 {
		t.Fatalf("%d issued, %d refused; want one renewal after one 401", issued, refused)
	}
}

func TestMTLSConfigRefusals(t *testing.T) {
	e := newMTLSEnv(t)
	m := e.mtls()
	for _, tc := range []struct {
		name string
		make func() error
		want string
	}{
		{"client credentials without secret or MTLS", func() error {
			_, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{OAuth2: clientcredentials.Config{ClientID: "orders", TokenURL: e.as}})
			return err
		}, "ClientSecret (or MTLS"},
		{"exchange without secret or MTLS", func() error {
			_, err := relay.NewExchange(relay.ExchangeConfig{TokenURL: e.as, ClientID: "orders", Audience: "payments"})
			return err
		}, "ClientSecret (or MTLS"},
		{"MTLS with a transport of its own", func() error {
			_, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{OAuth2: clientcredentials.Config{ClientID: "orders", TokenURL: e.as},
				MTLS: &m, HTTPClient: &http.Client{Transport: http.DefaultTransport}})
			return err
		}, "leave HTTPClient.Transport nil"},
		{"no SVID", func() error {
			_, err := relay.NewCertTransport(relay.MTLS{})
			return err
		}, "SVID source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.make(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
