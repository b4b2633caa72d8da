package demo

import (
	"net/http"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/workload"
)

// newPayments is the payment service of scenario 003. It accepts only tokens
// issued for it (aud payments), which orders gets in one of two ways:
//
//   - POST /payments/{order}: on behalf of a user, by token exchange; the
//     token's sub is the user and its act names orders (RFC 8693 §4.1).
//     Needs scope orders:write and act orders.
//   - GET /payments/settlement: as orders itself, by client credentials;
//     sub is the client, no user. Needs scope payments:read.
//
// It serves over mutual TLS and admits orders' workload certificate (and
// the walkthrough's intruder, mtls.go); peer in its answers is the SPIFFE
// ID the handshake verified. It accepts certificate-bound tokens only
// (RFC 8705 §3): cnf.x5t#S256 must be the thumbprint of the certificate of
// this very connection, so a token stolen from orders is no good from any
// other workload, and a bearer token is refused.
func newPayments(p *platform) (http.Handler, error) {
	g, err := p.guardFor("payments")
	if err != nil {
		return nil, err
	}
	bound := guard.RequireBound(guard.BindingCertificate)
	actingOrders := func(_ *http.Request, caller *guard.Principal) error {
		if a := caller.Claims.Actor; a == nil || a.Subject != "orders" {
			return guard.Forbidden("payments are made by orders on behalf of a user (act orders)")
		}
		return nil
	}
	mux := g.Mux()
	mux.HandleFunc("GET /healthz", healthz, guard.Public)
	mux.HandleFunc("POST /payments/{order}", func(w http.ResponseWriter, r *http.Request) {
		caller, _ := guard.PrincipalFrom(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"order": r.PathValue("order"), "status": "paid",
			"user": caller.Subject, "email": caller.Email, "act": caller.Claims.Actor.Subject, "aud": "payments",
			"peer": peerOf(r)})
	}, bound, guard.Scope("orders:write"), actingOrders)
	mux.HandleFunc("GET /payments/settlement", func(w http.ResponseWriter, r *http.Request) {
		caller, _ := guard.PrincipalFrom(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"caller": caller.Subject, "client_id": caller.ClientID,
			"user": "", "settled_orders": 2, "peer": peerOf(r)})
	}, bound, guard.Scope("payments:read"))
	return mux, nil
}

// peerOf is the SPIFFE ID of the workload that called, from its verified
// client certificate.
func peerOf(r *http.Request) string {
	id, err := workload.PeerID(r)
	if err != nil {
		return ""
	}
	return id.String()
}
