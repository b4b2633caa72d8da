package authserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/token"
)

// The mutual-TLS listener (RFC 8705). It serves the same endpoints as the
// main listener, with the client certificate of the TLS connection
// available to client authentication (tls_client_auth,
// self_signed_tls_client_auth; the decision is in mtls_auth.go) and to
// certificate-bound access tokens (§3): a client with
// CertificateBoundTokens gets cnf.x5t#S256 of the certificate it presented
// on every access token, and is refused at the token endpoint without one.

// MTLSHandler returns the handler of the mutual-TLS listener: the endpoints
// of [Server.Handler], which also take the client certificate of each
// request's TLS connection into account. Serve it with a tls.Config that
// requests a client certificate without verifying it
// ([MTLSServerConfig]): self-signed certificates must get through the
// handshake, and clients that authenticate otherwise may present none.
// Certificates reach the server through this handler only: the main
// listener's TLS state and any header are ignored.
func (s *Server) MTLSHandler() http.Handler {
	h := s.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			r = r.WithContext(withPeerCertificates(r.Context(), r.TLS.PeerCertificates))
		}
		h.ServeHTTP(w, r)
	})
}

// MTLSServerConfig returns the TLS configuration of the mutual-TLS
// listener: TLS 1.2 or later, the server certificate from getCertificate
// (which may rotate), and a client certificate requested but neither
// required nor verified by the handshake (tls.RequestClientCert): the
// server decides per client (mtls_auth.go).
func MTLSServerConfig(getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		ClientAuth:     tls.RequestClientCert,
		GetCertificate: getCertificate,
		NextProtos:     []string{"h2", "http/1.1"},
	}
}

// checkSenderConstraint checks and completes the mTLS and PAR fields of
// cfg.
func checkSenderConstraint(cfg *Config) error {
	if cfg.MTLSURL != "" {
		u, err := url.Parse(cfg.MTLSURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(cfg.MTLSURL, "/") {
			return fmt.Errorf("authserver: mTLS URL %q must be an absolute https URL without query, fragment or trailing slash", cfg.MTLSURL)
		}
	}
	switch {
	case cfg.PushedRequestTTL == 0:
		cfg.PushedRequestTTL = DefaultPushedRequestTTL
	case cfg.PushedRequestTTL < time.Second || cfg.PushedRequestTTL > maxPushedRequestTTL:
		return fmt.Errorf("authserver: pushed request lifetime %s: must be between 1s and %s", cfg.PushedRequestTTL, maxPushedRequestTTL)
	}
	return nil
}

// requireCertificate refuses a token request of a client with
// CertificateBoundTokens that came without a client certificate (RFC 8705
// §3): before the grant, so that nothing (a code, a refresh token) is
// spent on a request that cannot be answered.
func (s *Server) requireCertificate(ctx context.Context, client *identity.Client) *oauthError {
	if !client.CertificateBoundTokens || len(peerCertificates(ctx)) > 0 {
		return nil
	}
	where := "the mutual-TLS endpoint"
	if s.cfg.MTLSURL != "" {
		where = s.cfg.MTLSURL + "/oauth2/token"
	}
	return badRequest(errInvalidRequest, "this client gets certificate-bound access tokens (RFC 8705): send the request with its TLS client certificate to "+where)
}

// bindToCertificate puts cnf.x5t#S256 of the client certificate of the
// request on the claims of an access token, when client has
// CertificateBoundTokens (RFC 8705 §3.1).
func bindToCertificate(ctx context.Context, client *identity.Client, c *token.Claims) *oauthError {
	if !client.CertificateBoundTokens {
		return nil
	}
	chain := peerCertificates(ctx)
	if len(chain) == 0 {
		return badRequest(errInvalidRequest, "this client gets certificate-bound access tokens (RFC 8705): send the request with its TLS client certificate")
	}
	cnf := token.Confirmation{}
	if c.Confirmation != nil {
		cnf = *c.Confirmation
	}
	cnf.X5TS256 = token.CertificateThumbprint(chain[0].Raw)
	c.Confirmation = &cnf
	return nil
}

// mtlsMetadata adds the RFC 8705 §3.3 and §5 metadata to discovery, when
// the server has an mTLS listener.
func (s *Server) mtlsMetadata(meta map[string]any) {
	base := s.cfg.MTLSURL
	if base == "" {
		return
	}
	meta["tls_client_certificate_bound_access_tokens"] = true
	meta["mtls_endpoint_aliases"] = map[string]string{
		"token_endpoint":                        base + "/oauth2/token",
		"revocation_endpoint":                   base + "/oauth2/revoke",
		"introspection_endpoint":                base + "/oauth2/introspect",
		"pushed_authorization_request_endpoint": base + "/oauth2/par",
		"userinfo_endpoint":                     base + "/userinfo",
	}
	for _, k := range []string{"token_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
		if methods, ok := meta[k].([]string); ok {
			meta[k] = append(methods[:len(methods):len(methods)], "tls_client_auth", "self_signed_tls_client_auth")
		}
	}
}
