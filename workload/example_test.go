package workload_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/gatehousehq/gatehouse/workload"
)

// Service orders calls service payments over mutual TLS: each presents its
// own SVID, renewed at half life, and each checks the other's SPIFFE ID.
func Example() {
	domain := spiffeid.RequireTrustDomainFromString("shop.test")
	ordersID := spiffeid.RequireFromPath(domain, "/orders")
	paymentsID := spiffeid.RequireFromPath(domain, "/payments")

	ca, _ := workload.NewCA(domain) // or workload.LoadCA("./ca"), made by `gatehouse ca init`

	// payments: admits orders only.
	paymentsSVID, _ := workload.NewIdentity(ca, paymentsID)
	defer paymentsSVID.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := workload.PeerID(r)
		fmt.Fprintf(w, "payments served %s", caller)
	})}
	go srv.Serve(tls.NewListener(ln, workload.ServerConfig(paymentsSVID, ca.Bundle(), tlsconfig.AuthorizeID(ordersID))))
	defer srv.Close()

	// orders: talks to payments only.
	ordersSVID, _ := workload.NewIdentity(ca, ordersID)
	defer ordersSVID.Close()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: workload.ClientConfig(ordersSVID, ca.Bundle(), tlsconfig.AuthorizeID(paymentsID))}}

	resp, err := client.Get("https://" + ln.Addr().String() + "/pay")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: payments served spiffe://shop.test/orders
}
