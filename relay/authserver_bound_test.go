package relay_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/workload"
)

// Against the real auth server: orders gets certificate-bound tokens over
// its mTLS listener with tls_client_auth (its SPIFFE ID, no secret), calls
// payments over mTLS with the same workload certificate, and after the
// certificate is renewed the next call carries a token bound to the new
// one, fetched before the call: payments never sees the old token again
// and refuses nothing.
func TestAuthServerCertificateBoundRotation(t *testing.T) {
	ctx := context.Background()
	td := spiffeid.RequireTrustDomainFromString("gatehouse.test")
	ca, err := workload.NewCA(td)
	if err != nil {
		t.Fatal(err)
	}
	ordersID := spiffeid.RequireFromPath(td, "/orders")
	orders, err := workload.NewIdentity(ca, ordersID, workload.WithCheckEvery(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { orders.Close() })
	paymentsIdentity, err := workload.NewIdentity(ca, spiffeid.RequireFromPath(td, "/payments"), workload.WithCheckEvery(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { paymentsIdentity.Close() })

	store, err := sqlite.Open(ctx, t.TempDir()+"/gatehouse.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.CreateClient(ctx, &identity.Client{ID: "orders", TLSClientAuthSANURI: ordersID.String(), CertificateBoundTokens: true,
		Grants: []string{identity.GrantClientCredentials}, Scopes: []string{"payments:write"}, Audiences: []string{"payments"}}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	var mtlsHandler http.Handler
	var tokenHits atomic.Int32
	mtlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenHits.Add(1)
		mtlsHandler.ServeHTTP(w, r)
	}))
	mtlsSrv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	srv, err := authserver.New(ctx, authserver.Config{Issuer: issuer, Store: store, Logger: slog.New(slog.DiscardHandler),
		MTLSURL: "https://" + mtlsSrv.Listener.Addr().String(), MTLSClientCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	mtlsHandler = srv.MTLSHandler()
	mtlsSrv.StartTLS()
	t.Cleanup(mtlsSrv.Close)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	// payments: verifies the token and its binding to the connection's
	// certificate (RFC 8705 §3).
	verifier := (&authEnv{url: issuer}).verifier(t, "payments")
	var (
		mu      sync.Mutex
		seen    []*token.Claims
		refused int
	)
	pay := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := verifier.Verify(r.Context(), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		mu.Lock()
		defer mu.Unlock()
		if err != nil || !c.BoundToCertificate(r.TLS.PeerCertificates[0].Raw) {
			refused++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		seen = append(seen, c)
	}))
	pay.Listener = tls.NewListener(pay.Listener, workload.ServerConfig(paymentsIdentity, ca.Bundle(), tlsconfig.AuthorizeAny()))
	pay.Start()
	t.Cleanup(pay.Close)
	payURL := "https://" + pay.Listener.Addr().String() + "/payments"

	asRoots := x509.NewCertPool()
	asRoots.AddCert(mtlsSrv.Certificate())
	src, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
		OAuth2:   clientcredentials.Config{ClientID: "orders", TokenURL: mtlsSrv.URL + "/oauth2/token", Scopes: []string{"payments:write"}},
		Audience: "payments",
		MTLS:     &relay.MTLS{SVID: orders, TLSConfig: &tls.Config{RootCAs: asRoots}},
	})
	if err != nil {
		t.Fatal(err)
	}
	base, err := relay.NewCertTransport(relay.MTLS{SVID: orders, TLSConfig: workload.ClientConfig(orders, ca.Bundle(), tlsconfig.AuthorizeAny())})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := relay.NewTransport(base, src)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: tr}
	call := func() {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, payURL, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("payments answered %d", resp.StatusCode)
		}
	}
	call()
	call()
	if err := orders.Renew(); err != nil {
		t.Fatal(err)
	}
	call()
	mu.Lock()
	defer mu.Unlock()
	if tokenHits.Load() != 2 || refused != 0 || len(seen) != 3 {
		t.Fatalf("%d token requests, %d refused, %d accepted: want a token per certificate, none refused", tokenHits.Load(), refused, len(seen))
	}
	if seen[0].ID != seen[1].ID || seen[2].ID == seen[0].ID || seen[2].Confirmation.X5TS256 == seen[0].Confirmation.X5TS256 {
		t.Fatal("the renewed certificate did not get a token of its own")
	}
	svid, _ := orders.GetX509SVID()
	if !seen[2].BoundToCertificate(svid.Certificates[0].Raw) || seen[2].ClientID != "orders" {
		t.Fatalf("the last token is not the orders client's, bound to its current certificate")
	}
}
