package relay_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/workload"
)

// A service's own DPoP-bound token (RFC 9449): the token request carries
// a proof of the service's key, the token is bound to it (cnf.jkt), and
// every call sends it with the DPoP scheme and a proof of its own. The
// resource server here checks each proof with package dpop.
func ExampleNewClientCredentials_dpop() {
	key, err := dpop.GenerateSigner() // at start-up; or dpop.NewSigner(a key of the service's)
	if err != nil {
		fmt.Println(err)
		return
	}
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("token request with a proof:", r.Header.Get("DPoP") != "")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"a-dpop-bound-token","token_type":"DPoP","expires_in":300}`)
	}))
	defer auth.Close()
	v, _ := dpop.NewVerifier()
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := dpop.AuthorizationToken(r.Header.Get("Authorization"))
		proof, _ := dpop.HeaderProof(r.Header)
		_, err := v.Verify(r.Context(), proof, dpop.Request{Method: r.Method, URL: "http://" + r.Host + r.URL.Path,
			AccessToken: tok, JKT: key.JKT()})
		fmt.Println(r.Method, r.URL.Path, "proof valid:", err == nil)
	}))
	defer orders.Close()

	src, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
		OAuth2: clientcredentials.Config{ClientID: "reports", ClientSecret: "its-secret", TokenURL: auth.URL + "/oauth2/token"},
		DPoP:   key,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	t, err := relay.NewTransport(nil, src)
	if err != nil {
		fmt.Println(err)
		return
	}
	client := &http.Client{Transport: t}
	for _, path := range []string{"/orders/1", "/orders/2"} {
		resp, err := client.Get(orders.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
	}
	// Output:
	// token request with a proof: true
	// GET /orders/1 proof valid: true
	// GET /orders/2 proof valid: true
}

// Certificate-bound tokens over mutual TLS (RFC 8705): the service
// authenticates at the auth server's mTLS endpoint with its workload
// certificate (tls_client_auth: no secret), the token is bound to that
// certificate, and the calls go over a CertTransport that presents the same
// certificate. When the workload identity renews its certificate, the next
// call fetches a token bound to the new one.
func ExampleNewCertTransport() {
	td := spiffeid.RequireTrustDomainFromString("example.org")
	ca, _ := workload.NewCA(td)
	orders, _ := workload.NewIdentity(ca, spiffeid.RequireFromPath(td, "/orders"))
	defer orders.Close()
	server, _ := workload.NewIdentity(ca, spiffeid.RequireFromPath(td, "/auth"))
	defer server.Close()

	// The auth server's mTLS endpoint and the payments service, both over
	// mutual TLS: the token names the thumbprint of the client certificate,
	// and payments checks it against the connection's.
	var servers []*httptest.Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	mtlsServer := func(h http.HandlerFunc) string {
		s := httptest.NewUnstartedServer(h)
		s.Listener = tls.NewListener(s.Listener, workload.ServerConfig(server, ca.Bundle(), tlsconfig.AuthorizeAny()))
		s.Start()
		servers = append(servers, s)
		return "https://" + s.Listener.Addr().String()
	}
	auth := mtlsServer(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":300}`,
			token.CertificateThumbprint(r.TLS.PeerCertificates[0].Raw))
	})
	payments := mtlsServer(func(w http.ResponseWriter, r *http.Request) {
		bound := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		fmt.Println("token bound to this connection's certificate:", bound == token.CertificateThumbprint(r.TLS.PeerCertificates[0].Raw))
	})

	m := relay.MTLS{SVID: orders, TLSConfig: workload.ClientConfig(orders, ca.Bundle(), tlsconfig.AuthorizeAny())}
	src, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
		OAuth2: clientcredentials.Config{ClientID: "orders", TokenURL: auth + "/oauth2/token"}, // the mTLS alias
		MTLS:   &m,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	base, err := relay.NewCertTransport(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	t, _ := relay.NewTransport(base, src)
	client := &http.Client{Transport: t}
	call := func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, payments+"/payments", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	call()
	orders.Renew() // a new certificate, as the identity does at half its life
	call()
	// Output:
	// token bound to this connection's certificate: true
	// token bound to this connection's certificate: true
}
