package token

import (
	"crypto/subtle"
	"fmt"
)

// The binding decision of a sender-constrained token, made once for every
// service that takes tokens (guard over HTTP and gRPC, the auth server's
// userinfo): whether the sender of a request may use a verified token,
// presented with the scheme it came with. A token without a cnf claim is a
// bearer token, good from anyone. A token with one is good only from the
// holder of its key: for cnf.x5t#S256 (RFC 8705 §3) the client certificate
// of the request, for cnf.jkt (RFC 9449 §7) a DPoP proof of the request
// signed by that key. The decision parses nothing and verifies no proof:
// each caller verifies the DPoP proof with its own verifier and URL, and
// answers a fault in its own format.

// BindingFault is why the sender of a request may not use a token: one of
// a closed set, in the order [Claims.CheckBinding] finds them.
type BindingFault uint8

// The faults of [Claims.CheckBinding].
const (
	// NoBindingFault: the request may use the token (once the DPoP proof
	// of [BindingVerdict.ProofJKT] verifies, when that is set).
	NoBindingFault BindingFault = iota
	// DPoPSchemeUnbound: the DPoP scheme with a token that is not
	// DPoP-bound; it must be sent as Bearer (RFC 9449 §7.1).
	DPoPSchemeUnbound
	// UncheckableBinding: a cnf claim that names no binding this package
	// checks (neither x5t#S256 nor jkt). Refused, fail closed: cnf is
	// never decoration.
	UncheckableBinding
	// ClientCertificateUnavailable: the request's client certificate could
	// not be looked up (such as a trusted proxy's header that cannot be
	// read); [BindingVerdict.Err] says why.
	ClientCertificateUnavailable
	// NoClientCertificate: a certificate-bound token, and the request
	// presents no client certificate.
	NoClientCertificate
	// OtherClientCertificate: a certificate-bound token, and the request
	// presents another client certificate than the token's.
	OtherClientCertificate
	// DPoPBoundAsBearer: a DPoP-bound token sent with the Bearer scheme: a
	// DPoP-bound token is no bearer token (RFC 9449 §7.2).
	DPoPBoundAsBearer
)

// String names the fault, for logs and tests.
func (f BindingFault) String() string {
	switch f {
	case NoBindingFault:
		return "no fault"
	case DPoPSchemeUnbound:
		return "DPoP scheme with a token that is not DPoP-bound"
	case UncheckableBinding:
		return "cnf binds to nothing checkable"
	case ClientCertificateUnavailable:
		return "client certificate unavailable"
	case NoClientCertificate:
		return "no client certificate"
	case OtherClientCertificate:
		return "another client certificate"
	case DPoPBoundAsBearer:
		return "DPoP-bound token sent as Bearer"
	}
	return fmt.Sprintf("BindingFault(%d)", uint8(f))
}

// BindingVerdict is the answer of [Claims.CheckBinding]: the request may
// use the token (Fault is NoBindingFault and ProofJKT is empty), may use it
// once a DPoP proof of the key ProofJKT verifies for the request, or may
// not, for the reason of Fault.
type BindingVerdict struct {
	// Fault is why the request may not use the token; NoBindingFault when
	// it may.
	Fault BindingFault
	// ProofJKT, when set (and Fault is NoBindingFault), is the cnf.jkt the
	// request's DPoP proof must be signed by: the token is allowed once the
	// caller has verified that proof for this request and this token
	// (RFC 9449 §7: method, URL, ath, jkt, freshness, replay).
	ProofJKT string
	// Err is the error of the client certificate lookup, wrapped
	// (ClientCertificateUnavailable only); nil otherwise.
	Err error
}

// CheckBinding decides whether the sender of a request may use the
// verified token of c, presented with the DPoP scheme ("Authorization:
// DPoP", RFC 9449 §7.1) when dpopScheme is set and as a bearer token
// otherwise. clientCertificate returns the x5t#S256 thumbprint of the
// request's client certificate ([CertificateThumbprint]), "" when it
// presents none, or an error when it cannot be told; it is called only for
// a certificate-bound token, and at most once. A nil clientCertificate is a
// request without a certificate.
//
// The checks, cheap ones first, the first fault found is the answer:
//
//  1. the DPoP scheme goes with a DPoP-bound token only
//     (DPoPSchemeUnbound);
//  2. no cnf claim: a bearer token, allowed;
//  3. a cnf claim that names no binding checked here is refused
//     (UncheckableBinding: fail closed);
//  4. cnf.x5t#S256: the request's client certificate has that thumbprint,
//     compared in constant time (ClientCertificateUnavailable,
//     NoClientCertificate, OtherClientCertificate);
//  5. cnf.jkt: the request uses the DPoP scheme (DPoPBoundAsBearer), and
//     then the token is allowed once a DPoP proof of that key verifies
//     (ProofJKT), which is the caller's to check.
//
// A token bound to both a certificate and a DPoP key passes 4 and 5.
func (c *Claims) CheckBinding(dpopScheme bool, clientCertificate func() (string, error)) BindingVerdict {
	cnf := c.Confirmation
	switch {
	case dpopScheme && (cnf == nil || cnf.JKT == ""):
		return BindingVerdict{Fault: DPoPSchemeUnbound}
	case cnf == nil:
		return BindingVerdict{}
	case cnf.X5TS256 == "" && cnf.JKT == "":
		return BindingVerdict{Fault: UncheckableBinding}
	}
	if cnf.X5TS256 != "" {
		if v := checkCertificateBinding(cnf.X5TS256, clientCertificate); v.Fault != NoBindingFault {
			return v
		}
	}
	switch {
	case cnf.JKT == "":
		return BindingVerdict{}
	case !dpopScheme:
		return BindingVerdict{Fault: DPoPBoundAsBearer}
	}
	return BindingVerdict{ProofJKT: cnf.JKT}
}

// checkCertificateBinding checks the thumbprint x5t of cnf.x5t#S256
// against the request's client certificate (RFC 8705 §3), looked up now.
func checkCertificateBinding(x5t string, clientCertificate func() (string, error)) BindingVerdict {
	if clientCertificate == nil {
		return BindingVerdict{Fault: NoClientCertificate}
	}
	thumb, err := clientCertificate()
	switch {
	case err != nil:
		return BindingVerdict{Fault: ClientCertificateUnavailable, Err: fmt.Errorf("token: the client certificate of a certificate-bound token: %w", err)}
	case thumb == "":
		return BindingVerdict{Fault: NoClientCertificate}
	case subtle.ConstantTimeCompare([]byte(x5t), []byte(thumb)) != 1:
		return BindingVerdict{Fault: OtherClientCertificate}
	}
	return BindingVerdict{}
}
