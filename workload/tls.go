package workload

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/gatehousehq/gatehouse/internal/problem"
)

// ServerConfig is the tls.Config of a server that presents svid's current
// certificate and admits only clients with an SVID of bundle's trust
// domain that authorize allows (tlsconfig.AuthorizeID,
// tlsconfig.AuthorizeOneOf, tlsconfig.AuthorizeMemberOf, ...). TLS 1.3 only.
//
// Session tickets are off: a resumed TLS 1.3 session skips the peer
// verification, so a client certificate from a replaced CA could go on
// resuming; every connection is verified in full.
func ServerConfig(svid x509svid.Source, bundle x509bundle.Source, authorize tlsconfig.Authorizer) *tls.Config {
	c := tlsconfig.MTLSServerConfig(svid, bundle, authorize)
	c.MinVersion = tls.VersionTLS13
	c.SessionTicketsDisabled = true
	return c
}

// ClientConfig is the tls.Config of a client that presents svid's current
// certificate and talks only to servers with an SVID of bundle's trust
// domain that authorize allows: a client checks who it is talking to, too.
// TLS 1.3 only. Use it in an http.Transport's TLSClientConfig; the URL's
// host name is not what is checked, the server's SPIFFE ID is.
func ClientConfig(svid x509svid.Source, bundle x509bundle.Source, authorize tlsconfig.Authorizer) *tls.Config {
	c := tlsconfig.MTLSClientConfig(svid, bundle, authorize)
	c.MinVersion = tls.VersionTLS13
	return c
}

// ErrNoPeer: the request did not come over mutual TLS.
var ErrNoPeer = errors.New("workload: the request has no client certificate (not mutual TLS)")

// PeerID is the SPIFFE ID of the workload that sent r, from its client
// certificate. It trusts that the TLS config verified that certificate
// against the trust bundle, as [ServerConfig]'s does: behind another config
// (tls.RequestClientCert, say) any self-signed certificate would pass.
func PeerID(r *http.Request) (spiffeid.ID, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return spiffeid.ID{}, ErrNoPeer
	}
	id, err := x509svid.IDFromCert(r.TLS.PeerCertificates[0])
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("workload: peer certificate: %w", err)
	}
	return id, nil
}

// RequirePeer lets through to next only requests from a workload whose
// SPIFFE ID match allows (spiffeid.MatchID, spiffeid.MatchOneOf,
// spiffeid.MatchMemberOf); others get 403 problem+json. Use it per route
// where the TLS config admits several workloads but a route is for some:
//
//	mux.Handle("POST /payments", workload.RequirePeer(spiffeid.MatchID(orders), pay))
func RequirePeer(match spiffeid.Matcher, next http.Handler) http.Handler {
	if match == nil || next == nil {
		panic("workload: RequirePeer needs a matcher and a handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := PeerID(r)
		if err == nil {
			err = match(id)
		}
		if err != nil {
			detail := "this route is for other workloads"
			if errors.Is(err, ErrNoPeer) {
				detail = "mutual TLS with a workload certificate is required"
			}
			problem.Write(w, &problem.Problem{Type: problem.TypeForbidden, Status: http.StatusForbidden, Detail: detail})
			return
		}
		next.ServeHTTP(w, r)
	})
}
