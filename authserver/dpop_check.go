package authserver

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/token"
)

// DPoP at the auth server (RFC 9449). Every DPoP decision of the server is
// here, as a straight list of checks:
//
//   - the token endpoint (§5): at most one DPoP header; a proof for POST and
//     one of the server's token endpoint URLs (the issuer's, the mTLS
//     alias), fresh, never seen before, without ath, with the current
//     server nonce when nonces are on (§8); a client with DPoPBoundTokens
//     must send one (§5.2). A verified proof binds every access token the
//     request issues (cnf.jkt, token_type DPoP), the refresh token of a
//     public client (§5: every refresh must then prove the same key), and
//     must match the dpop_jkt of the authorization code's request (§10);
//   - PAR (§10.1): a proof at the PAR endpoint binds the pushed request,
//     as its dpop_jkt;
//   - userinfo (§7): a DPoP-bound token only with the DPoP scheme and a
//     proof of its key for this request (ath), never as Bearer.

// DPoPConfig configures DPoP proofs at the token endpoint and userinfo.
// The zero value accepts proofs (ES256, ES384, ES512, EdDSA, RS256, PS256)
// up to 60s old, without nonces, with a replay cache of this process.
type DPoPConfig struct {
	// Window is how old a proof may be (default 60s); a proof may come
	// from at most 5s in the future (clock skew). At most 10m.
	Window time.Duration
	// Nonce requires a server nonce in every token endpoint proof (RFC
	// 9449 §8): a proof without the current one is answered
	// use_dpop_nonce with the DPoP-Nonce header.
	Nonce bool
	// NonceSecret is the HMAC key of the nonces (at least 32 bytes), the
	// same on every instance so that a nonce one issued is good at every
	// other. Empty: a random secret of this process, whose nonces other
	// instances refuse (clients then retry once more).
	NonceSecret []byte
	// NonceStep is how often the nonce changes (default 5m); a nonce is
	// good for its step and the next, and one step early (the current one
	// of an instance whose clock runs ahead).
	NonceStep time.Duration
	// Replay records the jti of every accepted proof where every instance
	// sees it (dpop/redisreplay on the Redis the instances share). Nil:
	// this process's memory, which catches a replay to the same instance
	// only. While it fails, proofs are refused with 503.
	Replay dpop.ReplayCache
}

// DefaultDPoPNonceStep is how often the server nonce changes by default.
const DefaultDPoPNonceStep = 5 * time.Minute

// errInvalidDPoPProof and errUseDPoPNonce are the error codes of RFC 9449
// §12.2.
const (
	errInvalidDPoPProof = dpop.ErrorInvalidProof
	errUseDPoPNonce     = dpop.ErrorUseNonce
)

// newDPoP builds the proof verifier of the server from cfg.
func newDPoP(cfg DPoPConfig, now func() time.Time) (*dpop.Verifier, error) {
	window := cfg.Window
	if window == 0 {
		window = 60 * time.Second
	}
	opts := []dpop.Option{dpop.WithWindow(window, 5*time.Second), dpop.WithClock(now)}
	if cfg.Replay != nil {
		opts = append(opts, dpop.WithReplay(cfg.Replay))
	}
	if cfg.Nonce {
		secret := cfg.NonceSecret
		if len(secret) == 0 {
			secret = make([]byte, 32)
			rand.Read(secret)
		}
		step := cfg.NonceStep
		if step == 0 {
			step = DefaultDPoPNonceStep
		}
		n, err := dpop.NewNonces(secret, step, dpop.WithNonceClock(now))
		if err != nil {
			return nil, fmt.Errorf("authserver: DPoP nonces: %w", err)
		}
		opts = append(opts, dpop.WithNonces(n))
	}
	v, err := dpop.NewVerifier(opts...)
	if err != nil {
		return nil, fmt.Errorf("authserver: DPoP: %w", err)
	}
	return v, nil
}

type proofKey struct{}

// dpopProof returns the verified DPoP proof of the token request, nil
// when it came without one.
func dpopProof(ctx context.Context) *dpop.Proof {
	p, _ := ctx.Value(proofKey{}).(*dpop.Proof)
	return p
}

// endpointURLs are the URLs of an endpoint (path) a proof's htu may
// name: the issuer's and the mTLS alias (RFC 8705 §5).
func (s *Server) endpointURLs(path string) (string, []string) {
	var alt []string
	if s.cfg.MTLSURL != "" {
		alt = append(alt, s.cfg.MTLSURL+path)
	}
	return s.issuer + path, alt
}

// checkTokenDPoP verifies the DPoP proof of a token request (RFC 9449 §5,
// §4.3) before the grant, so that nothing is spent on a request that must
// be refused, and returns ctx with the proof for the grant.
func (s *Server) checkTokenDPoP(ctx context.Context, w http.ResponseWriter, r *http.Request, client *identity.Client) (context.Context, *oauthError) {
	raw, err := dpop.HeaderProof(r.Header)
	if err != nil {
		return ctx, badRequest(errInvalidDPoPProof, "send at most one DPoP header, with one proof")
	}
	if raw == "" {
		if client.DPoPBoundTokens {
			return ctx, badRequest(errInvalidDPoPProof, "this client gets DPoP-bound access tokens (RFC 9449 §5.2): send a DPoP proof")
		}
		return ctx, nil
	}
	if client.CertificateBoundTokens {
		return ctx, badRequest(errInvalidRequest, "this client gets certificate-bound access tokens (RFC 8705); send no DPoP proof")
	}
	p, e := s.verifyEndpointProof(ctx, w, raw, "/oauth2/token", client)
	if e != nil {
		return ctx, e
	}
	return context.WithValue(ctx, proofKey{}, p), nil
}

// verifyEndpointProof checks a proof sent to the auth server's endpoint
// path by POST (the token endpoint, PAR) and maps a refusal to its answer.
func (s *Server) verifyEndpointProof(ctx context.Context, w http.ResponseWriter, raw, path string, client *identity.Client) (*dpop.Proof, *oauthError) {
	url, alt := s.endpointURLs(path)
	p, err := s.dpop.Verify(ctx, raw, dpop.Request{Method: http.MethodPost, URL: url, AltURLs: alt, Nonce: s.cfg.DPoP.Nonce})
	var ne *dpop.NonceError
	switch {
	case errors.As(err, &ne):
		w.Header().Set(dpop.NonceHeader, ne.Nonce)
		return nil, badRequest(errUseDPoPNonce, "sign the DPoP proof again with the nonce of the DPoP-Nonce header")
	case errors.Is(err, dpop.ErrInvalidProof):
		s.audit(ctx, "dpop_refused", "client_id", client.ID, "reason", err.Error())
		return nil, badRequest(errInvalidDPoPProof, err.Error())
	case errors.Is(err, dpop.ErrReplayUnavailable):
		s.log.ErrorContext(ctx, "DPoP replay check failed", "client_id", client.ID, "error", err)
		return nil, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "the DPoP replay check is unavailable; try again later")
	case err != nil:
		s.log.ErrorContext(ctx, "DPoP proof check failed", "client_id", client.ID, "error", err)
		return nil, internal("DPoP proof check failed")
	}
	return p, nil
}

// pushedDPoP binds a pushed authorization request to the key of its DPoP
// proof (RFC 9449 §10.1): the proof is checked as at the token endpoint
// (for the PAR endpoint) and its key becomes the request's dpop_jkt, which
// a dpop_jkt sent beside it must equal.
func (s *Server) pushedDPoP(ctx context.Context, w http.ResponseWriter, r *http.Request, client *identity.Client, q url.Values) *oauthError {
	raw, err := dpop.HeaderProof(r.Header)
	if err != nil {
		return badRequest(errInvalidDPoPProof, "send at most one DPoP header, with one proof")
	}
	if raw == "" {
		return nil
	}
	p, e := s.verifyEndpointProof(ctx, w, raw, "/oauth2/par", client)
	if e != nil {
		return e
	}
	if given := q.Get("dpop_jkt"); given != "" && subtle.ConstantTimeCompare([]byte(given), []byte(p.JKT)) != 1 {
		return badRequest(errInvalidDPoPProof, "dpop_jkt is not the thumbprint of the DPoP proof's key")
	}
	q.Set("dpop_jkt", p.JKT)
	return nil
}

// bindToDPoPKey puts cnf.jkt of the request's proof on the claims of an
// access token (RFC 9449 §6.1).
func bindToDPoPKey(ctx context.Context, c *token.Claims) {
	p := dpopProof(ctx)
	if p == nil {
		return
	}
	cnf := token.Confirmation{}
	if c.Confirmation != nil {
		cnf = *c.Confirmation
	}
	cnf.JKT = p.JKT
	c.Confirmation = &cnf
}

// accessTokenType is the token_type of a token response for an access
// token with claims c: DPoP when it is bound to a DPoP key (RFC 9449 §5).
func accessTokenType(c *token.Claims) string {
	if c != nil && c.Confirmation != nil && c.Confirmation.JKT != "" {
		return dpop.TokenTypeBound
	}
	return "Bearer"
}

// refreshJKT is the key a new refresh token of client is bound to: the
// request's proof key for a public client (RFC 9449 §5), "" otherwise
// (a confidential client's refresh tokens are bound by its
// authentication).
func refreshJKT(ctx context.Context, client *identity.Client) string {
	if p := dpopProof(ctx); p != nil && client.Public {
		return p.JKT
	}
	return ""
}

// checkBoundGrant refuses a code (dpop_jkt, RFC 9449 §10) or a refresh
// token (§5) bound to a key the request's proof does not prove.
func checkBoundGrant(ctx context.Context, jkt, what string) *oauthError {
	if jkt == "" {
		return nil
	}
	p := dpopProof(ctx)
	if p == nil {
		return badRequest(errInvalidGrant, "this "+what+" is bound to a DPoP key: send a DPoP proof of that key")
	}
	if subtle.ConstantTimeCompare([]byte(p.JKT), []byte(jkt)) != 1 {
		return badRequest(errInvalidGrant, "this "+what+" is bound to another DPoP key")
	}
	return nil
}

// authorizationJKT reads the dpop_jkt parameter of an authorization
// request (RFC 9449 §10): a SHA-256 JWK thumbprint, 43 base64url
// characters.
func authorizationJKT(v string) (string, *oauthError) {
	if v == "" {
		return "", nil
	}
	if !validChallenge(v) { // the same shape: base64url of 32 bytes
		return "", badRequest(errInvalidRequest, "dpop_jkt must be a SHA-256 JWK thumbprint, 43 base64url characters")
	}
	return v, nil
}

// dpopMetadata adds dpop_signing_alg_values_supported (RFC 9449 §5.1) to
// discovery.
func (s *Server) dpopMetadata(meta map[string]any) {
	meta["dpop_signing_alg_values_supported"] = s.dpop.Algorithms()
}

// introspectionBinding adds what binds an access token (RFC 9449 §6.2,
// RFC 8705 §3.2) to its introspection answer: cnf, and token_type DPoP
// for a DPoP-bound token.
func introspectionBinding(out map[string]any, c *token.Claims) {
	if c.Confirmation == nil {
		return
	}
	out["cnf"] = c.Confirmation
	out["token_type"] = accessTokenType(c)
}

// resourceError is a refusal at userinfo: status, the OAuth error code and
// the WWW-Authenticate challenge.
type resourceError struct {
	status     int
	code, desc string
	dpopScheme bool // the challenge is DPoP's (RFC 9449 §7.1), not Bearer's
}

// checkResourceDPoP decides whether an access token that verified may be
// used at userinfo with the scheme it came with (RFC 9449 §7): a
// DPoP-bound token only with the DPoP scheme and a proof of its key for
// this request; the DPoP scheme only with a DPoP-bound token. A
// certificate-bound token (RFC 8705 §3) only over the mutual-TLS
// listener with its certificate, and a cnf that binds to nothing the
// server checks never (fail closed), as guard decides: the decision is
// token.Claims.CheckBinding's (token/binding.go), in its order; this maps
// its faults to userinfo's answers and verifies the DPoP proof.
func (s *Server) checkResourceDPoP(ctx context.Context, r *http.Request, dpopScheme bool, raw string, c *token.Claims) *resourceError {
	v := c.CheckBinding(dpopScheme, func() (string, error) { return peerThumbprint(ctx), nil })
	switch v.Fault {
	case token.NoBindingFault:
	case token.UncheckableBinding:
		return &resourceError{status: http.StatusUnauthorized, code: "invalid_token", dpopScheme: dpopScheme,
			desc: "the access token's cnf claim binds it to nothing this server can check"}
	case token.NoClientCertificate, token.OtherClientCertificate, token.ClientCertificateUnavailable:
		s.audit(ctx, "bound_token_refused", "jti", c.ID, "client_id", c.ClientID, "reason", "not the certificate of the token")
		return &resourceError{status: http.StatusUnauthorized, code: "invalid_token", dpopScheme: dpopScheme,
			desc: "this access token is bound to a client certificate: send it over the mutual-TLS endpoint with that certificate"}
	case token.DPoPBoundAsBearer:
		return &resourceError{status: http.StatusUnauthorized, code: "invalid_token", dpopScheme: true,
			desc: "this access token is DPoP-bound: send it with the DPoP scheme and a DPoP proof"}
	case token.DPoPSchemeUnbound:
		if cnf := c.Confirmation; cnf != nil && cnf.X5TS256 != "" {
			// A certificate-bound token with the DPoP scheme: refused
			// before its certificate is looked at, and still a sign of
			// a token used by another than its holder.
			s.audit(ctx, "bound_token_refused", "jti", c.ID, "client_id", c.ClientID, "reason", "certificate-bound token sent with the DPoP scheme")
			return &resourceError{status: http.StatusUnauthorized, code: "invalid_token", dpopScheme: true,
				desc: "this access token is bound to a client certificate: send it with the Bearer scheme over the mutual-TLS endpoint with that certificate"}
		}
		return &resourceError{status: http.StatusUnauthorized, code: "invalid_token", dpopScheme: true,
			desc: "this access token is not DPoP-bound: send it with the Bearer scheme"}
	default: // a fault of a newer token package: fail closed
		return &resourceError{status: http.StatusUnauthorized, code: "invalid_token", dpopScheme: dpopScheme,
			desc: "this access token may not be used by this request"}
	}
	if v.ProofJKT == "" {
		return nil
	}
	proof, err := dpop.HeaderProof(r.Header)
	if err == nil && proof == "" {
		err = errors.New("no DPoP header")
	}
	if err == nil {
		_, err = s.dpop.Verify(ctx, proof, dpop.Request{Method: r.Method, URL: s.issuer + "/userinfo", AccessToken: raw, JKT: v.ProofJKT})
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dpop.ErrReplayUnavailable):
		return &resourceError{status: http.StatusServiceUnavailable, code: errTemporarilyUnavail, dpopScheme: true, desc: "the DPoP replay check is unavailable; try again later"}
	default:
		s.audit(ctx, "dpop_refused", "jti", c.ID, "client_id", c.ClientID, "reason", err.Error())
		return &resourceError{status: http.StatusUnauthorized, code: errInvalidDPoPProof, dpopScheme: true, desc: "the DPoP proof is missing or invalid for this request"}
	}
}

// peerThumbprint is the x5t#S256 of the client certificate of the
// mutual-TLS connection of ctx, "" without one (RFC 8705 §3.1).
func peerThumbprint(ctx context.Context) string {
	chain := peerCertificates(ctx)
	if len(chain) == 0 {
		return ""
	}
	return token.CertificateThumbprint(chain[0].Raw)
}

// write answers the refusal: the challenge (with the accepted algorithms
// for DPoP) and the JSON error.
func (e *resourceError) write(w http.ResponseWriter, algs []string) {
	if e.status == http.StatusUnauthorized {
		if e.dpopScheme {
			w.Header().Set("WWW-Authenticate", dpop.Challenge(algs, e.code, e.desc))
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatehouse", error="`+e.code+`", error_description="`+e.desc+`"`)
		}
	}
	if e.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

// userinfoToken reads the access token of a userinfo request: "Bearer
// <token>" (RFC 6750 §2.1) or "DPoP <token>" (RFC 9449 §7.1), schemes
// compared case-insensitively.
func userinfoToken(authorization string) (raw string, dpopScheme, ok bool) {
	if raw, ok := dpop.AuthorizationToken(authorization); ok {
		return raw, true, true
	}
	raw, ok = bearerToken(authorization)
	return raw, false, ok
}
