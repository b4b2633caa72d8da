package demo

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/gatehousehq/gatehouse/workload"
)

// The demo's workload identities (scenario 003: "services talk over mTLS"):
// orders calls payments over mutual TLS, each with a SPIFFE certificate of
// its own from a CA that lives as long as the demo. payments admits orders
// only, at the handshake, before any token is looked at; orders talks only
// to payments. The bearer token still says for whom the call is made.
var (
	demoTrustDomain = spiffeid.RequireTrustDomainFromString("gatehouse.demo")
	ordersID        = spiffeid.RequireFromPath(demoTrustDomain, "/orders")
	paymentsID      = spiffeid.RequireFromPath(demoTrustDomain, "/payments")
)

// mesh holds the CA and the two identities of the demo's mTLS hop.
type mesh struct {
	ca       *workload.CA
	orders   *workload.Identity
	payments *workload.Identity
}

func newMesh() (*mesh, error) {
	ca, err := workload.NewCA(demoTrustDomain)
	if err != nil {
		return nil, fmt.Errorf("demo: CA: %w", err)
	}
	m := &mesh{ca: ca}
	if m.orders, err = workload.NewIdentity(ca, ordersID); err != nil {
		return nil, fmt.Errorf("demo: orders identity: %w", err)
	}
	if m.payments, err = workload.NewIdentity(ca, paymentsID); err != nil {
		m.orders.Close()
		return nil, fmt.Errorf("demo: payments identity: %w", err)
	}
	return m, nil
}

// paymentsTLS is the server side of payments: orders only.
func (m *mesh) paymentsTLS() *tls.Config {
	return workload.ServerConfig(m.payments, m.ca.Bundle(), tlsconfig.AuthorizeID(ordersID))
}

// ordersToPayments is orders' transport to payments: its own certificate,
// and payments' expected on the other end.
func (m *mesh) ordersToPayments() http.RoundTripper {
	return &http.Transport{
		TLSClientConfig:     workload.ClientConfig(m.orders, m.ca.Bundle(), tlsconfig.AuthorizeID(paymentsID)),
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     60 * time.Second,
		ForceAttemptHTTP2:   true,
	}
}

func (m *mesh) close() error {
	m.orders.Close()
	m.payments.Close()
	return nil
}
