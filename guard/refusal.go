package guard

import (
	"errors"
	"net/http"
)

// Reason is why a request was refused. Each reason has one HTTP status
// (and one gRPC code, guardgrpc.Code); clients see it as the problem type
// of the answer.
type Reason string

// The reasons of a [Refusal].
const (
	// ReasonNoToken: the request carries no bearer token (401; the
	// challenge has no error attribute, RFC 6750 §3.1).
	ReasonNoToken Reason = "no_token"
	// ReasonInvalidRequest: the token is sent ambiguously: two
	// Authorization headers, or two cookies of the token's name (400,
	// RFC 6750 invalid_request).
	ReasonInvalidRequest Reason = "invalid_request"
	// ReasonInvalidToken: the token was refused: expired, bad signature,
	// wrong audience, revoked, malformed (401, RFC 6750 invalid_token).
	ReasonInvalidToken Reason = "invalid_token"
	// ReasonUnavailable: the token could not be checked: the key source or
	// the revocation list is unreachable (503). Not the caller's fault.
	ReasonUnavailable Reason = "unavailable"
	// ReasonInsufficientScope: the token lacks a scope the rule requires
	// (403, RFC 6750 insufficient_scope).
	ReasonInsufficientScope Reason = "insufficient_scope"
	// ReasonForbidden: a rule refused the caller (403).
	ReasonForbidden Reason = "forbidden"
	// ReasonNotFound: the resource does not exist, or belongs to another
	// organization, which the caller must not be able to tell apart (404).
	ReasonNotFound Reason = "not_found"
	// ReasonInternal: a rule could not decide, such as an owner lookup that
	// failed (500). The cause goes to the log only.
	ReasonInternal Reason = "internal"
	// ReasonInvalidDPoPProof: the DPoP proof of a DPoP-bound token is
	// missing, sent twice, or refused: another method or URL, too old,
	// replayed, another key, a wrong ath (401, RFC 9449 §7.1
	// invalid_dpop_proof). See binding.go.
	ReasonInvalidDPoPProof Reason = "invalid_dpop_proof"
	// ReasonUseDPoPNonce: the DPoP proof lacks the server nonce, or holds
	// an old one; the answer's DPoP-Nonce header has a fresh one (401,
	// RFC 9449 §9 use_dpop_nonce).
	ReasonUseDPoPNonce Reason = "use_dpop_nonce"
)

// ErrNotFound is what the lookup functions of [Owner], of the resources of
// CEL rules (package guard/guardcel) and of custom rules return (or wrap)
// for a resource that does not exist: the guard answers 404.
var ErrNotFound = errors.New("guard: resource not found")

// Refusal is a refused request: the typed error that rules return and that
// an [ErrorWriter] receives. Everything but Err is safe to show to the
// client; Err is the internal cause, for logs only.
type Refusal struct {
	// Reason selects the status, the problem type and the challenge.
	Reason Reason
	// Detail explains the refusal to the client. It never quotes the token.
	Detail string
	// Scope lists, space-separated, the scopes that would have allowed the
	// request (insufficient_scope only).
	Scope string
	// Err is the internal cause (a lookup error, an expression error), or
	// nil. Never send it to the client.
	Err error

	// dpop: the error belongs to the DPoP challenge (the request used
	// the DPoP scheme, or its proof was refused), not to the Bearer one.
	dpop bool
	// nonce is the DPoP-Nonce to answer with (ReasonUseDPoPNonce).
	nonce string
}

var _ error = (*Refusal)(nil)

// Forbidden returns a refusal with status 403, for custom rules.
func Forbidden(detail string) *Refusal { return &Refusal{Reason: ReasonForbidden, Detail: detail} }

// Error describes the refusal without its cause.
func (r *Refusal) Error() string {
	if r.Detail == "" {
		return "guard: " + string(r.Reason)
	}
	return "guard: " + string(r.Reason) + ": " + r.Detail
}

// Unwrap returns the cause.
func (r *Refusal) Unwrap() error { return r.Err }

// Status is the HTTP status of the refusal.
func (r *Refusal) Status() int {
	switch r.Reason {
	case ReasonNoToken, ReasonInvalidToken, ReasonInvalidDPoPProof, ReasonUseDPoPNonce:
		return http.StatusUnauthorized
	case ReasonInvalidRequest:
		return http.StatusBadRequest
	case ReasonUnavailable:
		return http.StatusServiceUnavailable
	case ReasonNotFound:
		return http.StatusNotFound
	case ReasonInternal:
		return http.StatusInternalServerError
	default:
		return http.StatusForbidden
	}
}

// oauthCode is the RFC 6750 §3.1 error code of the refusal, or "".
func (r *Refusal) oauthCode() string {
	switch r.Reason {
	case ReasonInvalidRequest, ReasonInvalidToken, ReasonInsufficientScope, ReasonInvalidDPoPProof, ReasonUseDPoPNonce:
		return string(r.Reason)
	}
	return ""
}

// asRefusal maps what a rule returned to a refusal: a *Refusal as it is,
// ErrNotFound to 404, any other error to 500 (the rule could not decide).
func asRefusal(err error) *Refusal {
	if err == nil {
		return nil
	}
	var ref *Refusal
	switch {
	case errors.As(err, &ref):
		return ref
	case errors.Is(err, ErrNotFound):
		return &Refusal{Reason: ReasonNotFound, Err: err}
	default:
		return &Refusal{Reason: ReasonInternal, Err: err}
	}
}

// weight orders refusals for [Any]: a rule that could not decide outweighs
// one that said no, and "not found" outweighs "forbidden", so that the
// existence of a resource is not revealed by an alternative.
func (r *Refusal) weight() int {
	switch r.Reason {
	case ReasonInternal, ReasonUnavailable:
		return 2
	case ReasonNotFound:
		return 1
	}
	return 0
}
