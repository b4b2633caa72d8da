package demo

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/workload"
)

// The demo's workload identities (scenario 003: "services talk over mTLS"):
// orders calls payments over mutual TLS, each with a SPIFFE certificate of
// its own from a CA that lives as long as the demo. payments admits orders
// at the handshake, before any token is looked at; orders talks only to
// payments and to the auth server's mutual-TLS listener, where it
// authenticates with its certificate (tls_client_auth, RFC 8705 §2) and gets
// tokens bound to it (cnf.x5t#S256, §3). payments accepts only such tokens,
// from the connection of the certificate they are bound to.
var (
	demoTrustDomain = spiffeid.RequireTrustDomainFromString("gatehouse.demo")
	ordersID        = spiffeid.RequireFromPath(demoTrustDomain, "/orders")
	paymentsID      = spiffeid.RequireFromPath(demoTrustDomain, "/payments")
	authServerID    = spiffeid.RequireFromPath(demoTrustDomain, "/authserver")
	// intruderID is another workload of the same CA, which payments admits
	// at the handshake for one purpose only: the walkthrough replays a token
	// stolen from orders over its connection, and the binding refuses it.
	intruderID = spiffeid.RequireFromPath(demoTrustDomain, "/intruder")
)

// mesh holds the CA and the identities of the demo's mTLS hops.
type mesh struct {
	ca       *workload.CA
	orders   *workload.Identity
	payments *workload.Identity
	auth     *workload.Identity // the auth server's mutual-TLS listener
	intruder *workload.Identity
}

func newMesh() (*mesh, error) {
	ca, err := workload.NewCA(demoTrustDomain)
	if err != nil {
		return nil, fmt.Errorf("demo: CA: %w", err)
	}
	m := &mesh{ca: ca}
	for _, id := range []struct {
		to **workload.Identity
		id spiffeid.ID
	}{{&m.orders, ordersID}, {&m.payments, paymentsID}, {&m.auth, authServerID}, {&m.intruder, intruderID}} {
		if *id.to, err = workload.NewIdentity(ca, id.id); err != nil {
			m.close()
			return nil, fmt.Errorf("demo: identity %s: %w", id.id, err)
		}
	}
	return m, nil
}

// paymentsTLS is the server side of payments: orders (and the intruder of
// the walkthrough) only.
func (m *mesh) paymentsTLS() *tls.Config {
	return workload.ServerConfig(m.payments, m.ca.Bundle(), tlsconfig.AuthorizeOneOf(ordersID, intruderID))
}

// authTLS is the server side of the auth server's mutual-TLS listener: its
// certificate from the demo CA, a client certificate requested and checked
// by the auth server per client (authserver.MTLSServerConfig).
func (m *mesh) authTLS() *tls.Config {
	return authserver.MTLSServerConfig(tlsconfig.GetCertificate(m.auth))
}

// clientCAs are the roots of tls_client_auth at the auth server.
func (m *mesh) clientCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(m.ca.Certificate())
	return pool
}

// ordersMTLS is orders' workload certificate towards server: the auth
// server's listener or payments, whose SPIFFE ID is checked.
func (m *mesh) ordersMTLS(server spiffeid.ID) *relay.MTLS {
	return &relay.MTLS{SVID: m.orders, TLSConfig: tlsconfig.TLSClientConfig(m.ca.Bundle(), tlsconfig.AuthorizeID(server)),
		Transport: &http.Transport{TLSHandshakeTimeout: 5 * time.Second, MaxIdleConnsPerHost: 16,
			IdleConnTimeout: 60 * time.Second, ForceAttemptHTTP2: true}}
}

// client is an HTTP client with the certificate of id's identity, towards
// server (the walkthrough's orders and intruder).
func (m *mesh) client(id *workload.Identity, server spiffeid.ID) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: workload.ClientConfig(id, m.ca.Bundle(), tlsconfig.AuthorizeID(server))}}
}

func (m *mesh) close() error {
	for _, id := range []*workload.Identity{m.orders, m.payments, m.auth, m.intruder} {
		if id != nil {
			id.Close()
		}
	}
	return nil
}
