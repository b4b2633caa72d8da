package authserver

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
)

// Mutual-TLS client authentication (RFC 8705 §2). The certificate comes
// from the TLS connection of the mTLS listener only (Server.MTLSHandler
// puts it in the request's context); a certificate on the main listener,
// and any header, count for nothing. The decision is verifyClientCertificate.

// errNoCertificate is the refusal of a request that presented no client
// certificate on the mTLS listener.
var errNoCertificate = errors.New("no client certificate on the mutual-TLS endpoint")

// peerKey is the context key of the certificate chain of the mTLS listener.
type peerKey struct{}

// withPeerCertificates returns ctx carrying chain, the certificates the
// client presented on the mTLS listener (leaf first).
func withPeerCertificates(ctx context.Context, chain []*x509.Certificate) context.Context {
	return context.WithValue(ctx, peerKey{}, chain)
}

// peerCertificates returns the chain the client presented on the mTLS
// listener, nil elsewhere.
func peerCertificates(ctx context.Context) []*x509.Certificate {
	chain, _ := ctx.Value(peerKey{}).([]*x509.Certificate)
	return chain
}

// usesTLSClientAuth reports whether c authenticates with a TLS client
// certificate: tls_client_auth (a SAN URI or a subject DN) or
// self_signed_tls_client_auth.
func usesTLSClientAuth(c *identity.Client) bool {
	return c.TLSClientAuthSANURI != "" || c.TLSClientAuthSubjectDN != "" || c.SelfSignedTLSClientAuth
}

// verifyClientCertificate decides whether chain (leaf first, as presented
// in the TLS handshake, which proved possession of the leaf's key)
// authenticates client c, in this order:
//
//   - self_signed_tls_client_auth (§2.2): the leaf is self-signed and its
//     public key is one of the client's registered keys (c.JWKS); no
//     chain is checked;
//   - tls_client_auth (§2.1): the chain verifies against roots at now for
//     client authentication, and the leaf's URI SAN is exactly
//     c.TLSClientAuthSANURI, or its subject is c.TLSClientAuthSubjectDN
//     (compared normalized, see subjectdn.go).
//
// The error says why, without any part of the certificate.
func verifyClientCertificate(c *identity.Client, chain []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	if len(chain) == 0 {
		return errNoCertificate
	}
	leaf := chain[0]
	if c.SelfSignedTLSClientAuth {
		return verifySelfSigned(c, leaf)
	}
	if roots == nil {
		return errors.New("the server trusts no CA for tls_client_auth (authserver.mtls.client_ca_file)")
	}
	inter := x509.NewCertPool()
	for _, ic := range chain[1:] {
		inter.AddCert(ic)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return errors.New("the client certificate does not chain to a trusted CA, or is not valid now for client authentication")
	}
	switch {
	case c.TLSClientAuthSANURI != "":
		for _, u := range leaf.URIs {
			if u.String() == c.TLSClientAuthSANURI {
				return nil
			}
		}
		return errors.New("the client certificate's URI SAN is not the client's")
	case c.TLSClientAuthSubjectDN != "":
		want, err := normalizeDN(c.TLSClientAuthSubjectDN)
		if err != nil {
			return errors.New("the client's registered subject DN is malformed")
		}
		got, err := normalizeRawSubject(leaf.RawSubject)
		if err != nil || got != want {
			return errors.New("the client certificate's subject is not the client's")
		}
		return nil
	}
	return errors.New("the client has no tls_client_auth name registered")
}

// verifySelfSigned is self_signed_tls_client_auth (RFC 8705 §2.2).
func verifySelfSigned(c *identity.Client, leaf *x509.Certificate) error {
	if string(leaf.RawIssuer) != string(leaf.RawSubject) ||
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) != nil {
		return errors.New("the client certificate is not self-signed")
	}
	ks, err := keys.ParseJWKS([]byte(c.JWKS))
	if err != nil || len(ks) == 0 {
		return errors.New("the client's registered keys are unusable")
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return errors.New("the client certificate's key type is not supported")
	}
	for _, k := range ks {
		if pub.Equal(k.Public()) {
			return nil
		}
	}
	return errors.New("the client certificate's key is not one of the client's registered keys")
}

// authenticateCertificate authenticates client c (looked up by the
// client_id of the form, RFC 8705 §2) by the certificate of the mTLS
// connection. A refusal counts in the client-auth throttle like a bad
// secret, for the client id and the caller's IP (client_secret_check.go).
func (s *Server) authenticateCertificate(ctx context.Context, r *http.Request, c *identity.Client) (*identity.Client, *oauthError) {
	ip := clientIP(r)
	idKey, ipKey := "client:"+c.ID, "ip:"+ip
	if wait := s.clientThrottle.refuses(ipKey); wait > 0 {
		s.audit(ctx, "client_auth_throttled", "client_id", c.ID, "ip", ip)
		return nil, throttled(errInvalidClient, "too many failed client authentications", wait)
	}
	try, wait := s.clientThrottle.reserve(ctx, idKey, ipKey)
	if try == nil {
		s.audit(ctx, "client_auth_throttled", "client_id", c.ID, "ip", ip)
		return nil, throttled(errInvalidClient, "too many failed client authentications", wait)
	}
	if err := verifyClientCertificate(c, peerCertificates(ctx), s.cfg.MTLSClientCAs, s.now()); err != nil {
		try.fail()
		s.audit(ctx, "client_auth_failed", "client_id", c.ID, "method", "tls_client_auth", "ip", ip, "reason", err.Error())
		return nil, oerr(http.StatusUnauthorized, errInvalidClient, "client certificate refused: "+err.Error())
	}
	try.succeed(idKey)
	return c, nil
}
