package guard

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse/token"
)

// The binding decision: whether the sender of this request may use the
// verified token it presents. A token without a cnf claim is a bearer
// token, good from anyone. A token with one is good only from the holder
// of its key: for cnf.x5t#S256 (RFC 8705 §3) the client certificate of
// this request, for cnf.jkt (RFC 9449 §7) a DPoP proof of this request
// signed by that key. The check runs on every request, after the
// verifier, whether or not its cache knew the token: the cache vouches for
// the token, never for the request.
//
// The checks, cheap ones first (token.Claims.CheckBinding, token/binding.go,
// makes the decision in this order; the guard looks up the certificate
// and verifies the proof):
//
//  1. the DPoP scheme goes with a DPoP-bound token only;
//  2. no cnf claim: a bearer token, allowed;
//  3. a cnf claim that names no binding the guard checks is refused
//     (fail closed: cnf is never decoration);
//  4. cnf.x5t#S256: the request's client certificate has that
//     thumbprint (clientcert.go finds the certificate);
//  5. cnf.jkt: the request uses the DPoP scheme, and the one DPoP proof
//     verifies for this method and URL, this token (ath), that key
//     (jkt), fresh and never seen before (dpop_scheme.go).
//
// Every refusal is 401 invalid_token (invalid_dpop_proof for the proof,
// RFC 9449 §7.1), never a quote of the token or the proof.

// checkBinding decides whether r may use the verified token raw with
// claims c, presented with scheme s: token.Claims.CheckBinding decides,
// in the order above, and this maps its verdict to the guard's refusals;
// a DPoP-bound token's proof is verified here (checkDPoP).
func (g *Guard) checkBinding(r *http.Request, raw string, s scheme, c *token.Claims) *Refusal {
	v := c.CheckBinding(s == schemeDPoP, g.clientThumbprint(r))
	switch {
	case v.Fault != token.NoBindingFault:
		return faultRefusal(v, s == schemeDPoP)
	case v.ProofJKT != "":
		return g.checkDPoP(r, raw, v.ProofJKT)
	}
	return nil
}

// clientThumbprint is the client certificate lookup of r for
// token.Claims.CheckBinding (clientcert.go): the TLS peer's leaf
// certificate, or behind a trusted proxy the certificate of its header
// ([WithClientCertificateHeader]). A header that cannot be read comes
// back as its *Refusal, the error.
func (g *Guard) clientThumbprint(r *http.Request) func() (string, error) {
	return func() (string, error) {
		thumb, ref := g.clientCert.thumbprint(r)
		if ref != nil {
			return "", ref
		}
		return thumb, nil
	}
}

// faultRefusal is the 401 invalid_token of a binding fault; dpop puts
// the error in the DPoP challenge. The refusal of a certificate lookup
// that failed is the lookup's own.
func faultRefusal(v token.BindingVerdict, dpop bool) *Refusal {
	var detail string
	switch v.Fault {
	case token.DPoPSchemeUnbound:
		detail = "the DPoP scheme is for DPoP-bound tokens; send this token as Bearer"
	case token.UncheckableBinding:
		detail = "the token's cnf claim binds it to nothing this service can check"
	case token.ClientCertificateUnavailable:
		var ref *Refusal
		if !errors.As(v.Err, &ref) {
			ref = &Refusal{Reason: ReasonInvalidToken, Detail: "the client certificate cannot be read", Err: v.Err}
		}
		ref.dpop = dpop
		return ref
	case token.NoClientCertificate:
		detail = "the token is bound to a client certificate, and this request presents none"
	case token.OtherClientCertificate:
		detail = "the token is bound to another client certificate than this request's"
	case token.DPoPBoundAsBearer:
		// RFC 9449 §7.2: a DPoP-bound token is no bearer token.
		detail = "the token is DPoP-bound: send it with Authorization: DPoP and a DPoP proof"
	default:
		detail = "the token may not be used by this request (" + v.Fault.String() + ")"
	}
	return bindingRefusal(dpop, detail)
}

// bindingRefusal is the 401 invalid_token of a token this request may not
// use; dpop puts the error in the DPoP challenge.
func bindingRefusal(dpop bool, detail string) *Refusal {
	return &Refusal{Reason: ReasonInvalidToken, Detail: detail, dpop: dpop}
}

// checkCallBinding is checkBinding for a call of another transport
// ([Guard.AuthorizeCall], gRPC). DPoP is defined for HTTP requests only
// (RFC 9449 has no gRPC binding: no htu for a call, no header for the
// proof), so the DPoP scheme and DPoP-bound tokens are refused;
// certificate-bound tokens are checked against r.TLS (guardgrpc fills it
// from the peer) or the trusted proxy's header. Anything DPoP is refused
// first, as no certificate could make it good on a call, and without
// reading a proxy's certificate header for nothing.
func (g *Guard) checkCallBinding(r *http.Request, s scheme, c *token.Claims) *Refusal {
	if s == schemeDPoP || (c.Confirmation != nil && c.Confirmation.JKT != "") {
		return bindingRefusal(false, "DPoP-bound tokens are not defined for gRPC calls: use a certificate-bound or bearer token")
	}
	// Without jkt the verdict never asks for a proof: a fault or allowed.
	if v := c.CheckBinding(false, g.clientThumbprint(r)); v.Fault != token.NoBindingFault {
		return faultRefusal(v, false)
	}
	return nil
}

// Binding is a kind of sender constraint, for [RequireBound].
type Binding string

// The bindings of [RequireBound].
const (
	// BindingCertificate: a token bound to a client certificate
	// (cnf.x5t#S256, RFC 8705 §3).
	BindingCertificate Binding = "certificate"
	// BindingDPoP: a token bound to a DPoP key (cnf.jkt, RFC 9449 §6).
	BindingDPoP Binding = "dpop"
)

// RequireBound allows sender-constrained tokens only: bound to a client
// certificate or to a DPoP key, or, with kinds, to one of those kinds. A
// bearer token is refused, 401 invalid_token, so that a token copied from
// a log or a compromised service is no good on this route. The binding
// itself was checked before any rule runs: this rule only says that a
// bearer token is not enough.
func RequireBound(kinds ...Binding) Rule {
	cert, jkt := len(kinds) == 0, len(kinds) == 0
	names := make([]string, 0, len(kinds))
	for _, k := range kinds {
		switch k {
		case BindingCertificate:
			cert = true
		case BindingDPoP:
			jkt = true
		default:
			panic("guard: RequireBound: unknown binding " + string(k))
		}
		names = append(names, string(k))
	}
	detail := "this route requires a sender-constrained token (bound to a client certificate or a DPoP key)"
	if len(kinds) > 0 {
		detail = "this route requires a token bound to: " + strings.Join(names, ", ")
	}
	return func(_ *http.Request, p *Principal) error {
		cnf := p.Claims.Confirmation
		if cnf != nil && ((cert && cnf.X5TS256 != "") || (jkt && cnf.JKT != "")) {
			return nil
		}
		return &Refusal{Reason: ReasonInvalidToken, Detail: detail}
	}
}
