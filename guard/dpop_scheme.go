package guard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehousehq/gatehouse/dpop"
)

// DPoP at the resource (RFC 9449 §7): a DPoP-bound token (cnf.jkt) comes
// as "Authorization: DPoP <token>" with one DPoP header, a proof that the
// key of cnf.jkt signed for this request. The proof is package dpop's to
// verify; the guard says what it must match: the method, the URL the
// client sent the request to, this token (ath), the token's key (jkt),
// and a server nonce when RequireNonce is set. Freshness and replay are
// the dpop.Verifier's (dpop.WithWindow, dpop.WithReplay: a replay cache
// shared by every instance of the service, such as dpop/redisreplay,
// refuses a proof replayed to another instance).

// dpopCheck is the DPoP configuration of a guard (WithDPoP).
type dpopCheck struct {
	v      *dpop.Verifier
	algs   string                                // for the challenge: space-separated
	base   *url.URL                              // ExternalURL; nil: from the request
	origin func(r *http.Request) (string, error) // RequestOrigin; nil: from the request
	nonce  bool                                  // RequireNonce
}

// DPoPOption configures the DPoP check of [WithDPoP].
type DPoPOption func(*dpopCheck) error

// WithDPoP accepts DPoP-bound tokens (RFC 9449 §7): "Authorization: DPoP"
// with a DPoP proof that v verifies for the request (method, URL, the
// token's ath and jkt, freshness, replay). Without it a DPoP-bound token is
// always refused, and the DPoP scheme counts as no token. Either way a
// DPoP-bound token sent as Bearer is refused (§7.2), and a bearer token
// sent with the DPoP scheme too. Refusals answer both challenges, Bearer
// and DPoP with algs (§7.1); a refused proof is invalid_dpop_proof.
//
// The URL of the proof (htu) is the guard's external URL with the request
// path ([ExternalURL]); without it, https when the request came over TLS
// and http otherwise, with the request's Host. X-Forwarded-* never count:
// behind a proxy or a gateway, set ExternalURL, or [RequestOrigin] where
// the proxy serves several hosts and says which one a request came to.
func WithDPoP(v *dpop.Verifier, opts ...DPoPOption) Option {
	return optionFunc(func(g *Guard) error {
		if v == nil {
			return errors.New("guard: WithDPoP needs a dpop.Verifier")
		}
		d := &dpopCheck{v: v, algs: strings.Join(v.Algorithms(), " ")}
		if !quotable(d.algs) {
			return fmt.Errorf("guard: DPoP algorithms %q cannot stand in a challenge", d.algs)
		}
		for _, o := range opts {
			if o == nil {
				return errors.New("guard: nil DPoPOption")
			}
			if err := o(d); err != nil {
				return err
			}
		}
		if d.base != nil && d.origin != nil {
			return errors.New("guard: ExternalURL and RequestOrigin both say where requests are sent: give one")
		}
		g.dpop = d
		return nil
	})
}

// ExternalURL sets the URL clients send requests to, such as
// "https://orders.example" or "https://api.example/orders": the proof of a
// request must name it with the request's path appended (htu). It is
// required behind a TLS-terminating proxy or gateway, where the request's
// own scheme and Host are the proxy's.
func ExternalURL(base string) DPoPOption {
	return func(d *dpopCheck) error {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("guard: external URL %q must be an absolute http(s) URL without user, query or fragment", base)
		}
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = strings.TrimSuffix(u.RawPath, "/")
		d.base = u
		return nil
	}
}

// RequestOrigin has origin say, for each request, the scheme and host the
// client sent it to ("https://api.example.com", no path): the proof must
// name that with the request's path (htu). It is for a guard behind a
// proxy that serves several hosts and tells which one, typically with
// X-Forwarded-Proto and X-Forwarded-Host: origin must read those only
// from the proxy's connections, and only the values the proxy wrote. It
// returns "" for a request that says nothing of its origin (not from the
// proxy, or without the headers), which then counts with its own scheme
// and Host; and an error for headers that are there but do not name one
// origin, whose proof is then refused (invalid_dpop_proof): a header it
// cannot read must make proofs fail, never pass. Package gateway's
// dpop.forwarded is such a function.
func RequestOrigin(origin func(r *http.Request) (string, error)) DPoPOption {
	return func(d *dpopCheck) error {
		if origin == nil {
			return errors.New("guard: RequestOrigin needs a function")
		}
		d.origin = origin
		return nil
	}
}

// RequireNonce requires proofs to carry a current server nonce (RFC 9449
// §9): a proof without one, or with a stale one, is answered 401
// use_dpop_nonce with a fresh nonce in DPoP-Nonce. The verifier must have
// the nonces (dpop.WithNonces), shared by every instance of the service.
func RequireNonce() DPoPOption {
	return func(d *dpopCheck) error { d.nonce = true; return nil }
}

// checkDPoP verifies the one DPoP proof of r for the token raw bound to
// the key jkt.
func (g *Guard) checkDPoP(r *http.Request, raw, jkt string) *Refusal {
	d := g.dpop
	if d == nil {
		return bindingRefusal(false, "this service does not accept DPoP-bound tokens")
	}
	proof, err := dpop.HeaderProof(r.Header)
	if err != nil {
		return proofRefusal(err)
	}
	if proof == "" {
		return &Refusal{Reason: ReasonInvalidDPoPProof, Detail: "a DPoP proof is required (the DPoP header)", dpop: true}
	}
	u, err := d.url(r)
	if err != nil {
		return &Refusal{Reason: ReasonInvalidDPoPProof, Detail: "the DPoP proof was refused: the request's forwarded headers do not say which URL it was sent to", dpop: true, Err: err}
	}
	_, err = d.v.Verify(r.Context(), proof, dpop.Request{
		Method: r.Method, URL: u, AccessToken: raw, JKT: jkt, Nonce: d.nonce,
	})
	if err != nil {
		return proofRefusal(err)
	}
	return nil
}

// proofRefusal maps a refusal of package dpop: a nonce to use, a bad
// proof, or a proof that could not be checked (503). The dpop package's
// reasons never quote the proof.
func proofRefusal(err error) *Refusal {
	var ne *dpop.NonceError
	switch {
	case errors.As(err, &ne):
		return &Refusal{Reason: ReasonUseDPoPNonce, Detail: "the DPoP proof must carry the server nonce of the DPoP-Nonce header", dpop: true, nonce: ne.Nonce, Err: err}
	case errors.Is(err, dpop.ErrInvalidProof):
		detail := strings.TrimPrefix(err.Error(), "dpop: ")
		return &Refusal{Reason: ReasonInvalidDPoPProof, Detail: "the DPoP proof was refused: " + strings.TrimPrefix(detail, "invalid proof: "), dpop: true, Err: err}
	}
	return &Refusal{Reason: ReasonUnavailable, Detail: "the DPoP proof could not be checked; try again later", Err: err}
}

// url is the URL r was sent to, for htu: the external URL with the
// request's path, or its origin by RequestOrigin with the path, or the
// request's own scheme and Host; an error when RequestOrigin cannot tell.
func (d *dpopCheck) url(r *http.Request) (string, error) {
	path := r.URL.EscapedPath()
	if d.base != nil {
		return d.base.Scheme + "://" + d.base.Host + d.base.EscapedPath() + path, nil
	}
	if d.origin != nil {
		o, err := d.origin(r)
		if err != nil {
			return "", err
		}
		if o != "" {
			return o + path, nil
		}
	}
	s := "http://"
	if r.TLS != nil {
		s = "https://"
	}
	return s + r.Host + path, nil
}

// usedDPoP reports whether r presents its token with the DPoP scheme to a
// guard that takes DPoP: the error of any refusal then goes in the DPoP
// challenge (RFC 9449 §7.1).
func (g *Guard) usedDPoP(r *http.Request) bool {
	if g.dpop == nil {
		return false
	}
	v := r.Header["Authorization"]
	if len(v) != 1 {
		return false
	}
	name, _, _ := strings.Cut(v[0], " ")
	return strings.EqualFold(name, "DPoP")
}
