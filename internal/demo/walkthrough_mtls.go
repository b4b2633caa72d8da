package demo

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/gatehousehq/gatehouse/token"
)

// The walkthrough's certificate-bound tokens (RFC 8705): the tokens orders
// gets for payments at the auth server's mutual-TLS listener, stolen and
// replayed.

// stolenFromOrders shows the certificate-bound tokens of payments: a token
// orders gets at the auth server's mutual-TLS listener (client credentials,
// tls_client_auth with its SPIFFE certificate) is bound to orders'
// certificate. payments takes it over orders' own connection, refuses it
// from another workload of the same CA (the intruder, which payments
// admits at the handshake only for this step) and from a caller without
// any workload certificate.
func (w *walker) stolenFromOrders() {
	m := w.env.mtls
	stolen, status, err := w.ordersToken(m)
	c := claims(stolen)
	svid, _ := m.orders.GetX509SVID()
	bound := c.Confirmation != nil && svid != nil && c.Confirmation.X5TS256 == token.CertificateThumbprint(svid.Certificates[0].Raw)
	detail := ""
	if err != nil {
		detail = err.Error()
	} else if bound {
		detail = "cnf.x5t#S256=" + c.Confirmation.X5TS256[:12] + "… (orders' certificate), no client secret"
	}
	w.step("003", "orders: client credentials at the mTLS token endpoint", 200, status, err == nil && bound, detail)
	if stolen == "" {
		return
	}
	settlement := w.env.Services["payments"] + "/payments/settlement"
	r := w.doWith(m.client(m.orders, paymentsID), "GET", settlement, stolen)
	w.step("003", "that token to payments over orders' connection", 200, r.status, r.json()["peer"] == ordersID.String(),
		fmt.Sprintf("peer=%v: the certificate it is bound to", r.json()["peer"]))
	r = w.doWith(m.client(m.intruder, paymentsID), "GET", settlement, stolen)
	w.step("003", "stolen token replayed by "+intruderID.String(), 401, r.status, true,
		fmt.Sprintf("%v; WWW-Authenticate: %s", r.json()["detail"], r.header.Get("WWW-Authenticate")))
	// payments admits no caller without a workload certificate: the plain
	// Bearer token does not get past the handshake.
	got := "200"
	noCert := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: tlsconfig.TLSClientConfig(m.ca.Bundle(), tlsconfig.AuthorizeID(paymentsID))}}
	if r = w.doWith(noCert, "GET", settlement, stolen); r.err != nil {
		got = "refused"
	} else {
		got = strconv.Itoa(r.status)
	}
	w.check("003", "stolen token as plain Bearer, no workload cert", "refused", got, got == "refused",
		"mTLS: payments admits workload certificates only, at the handshake")
}

// ordersToken is what orders gets for payments as itself: client
// credentials over mutual TLS with orders' workload certificate.
func (w *walker) ordersToken(m *mesh) (string, int, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"orders"}, "scope": {"payments:read"}, "audience": {"payments"}}
	r := w.doWith(m.client(m.orders, authServerID), "POST", w.env.MTLSURL+"/oauth2/token", "", form)
	if r.err != nil {
		return "", 0, r.err
	}
	tok, _ := r.json()["access_token"].(string)
	if tok == "" {
		return "", r.status, errors.New("no access token: " + fmt.Sprint(r.json()["error_description"]))
	}
	return tok, r.status, nil
}

// doWith is do over client c.
func (w *walker) doWith(c *http.Client, method, rawURL, bearer string, body ...any) result {
	saved := w.hc
	w.hc = c
	defer func() { w.hc = saved }()
	var b any
	if len(body) > 0 {
		b = body[0]
	}
	return w.do(method, rawURL, bearer, b)
}
