package relay

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"sync"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/gatehousehq/gatehouse/token"
)

// MTLS is the workload certificate a source or a transport presents
// (RFC 8705): at the token endpoint, where it authenticates the client
// (tls_client_auth: client_id and no secret) and the auth server binds
// the tokens to it (cnf.x5t#S256), and to the downstream service, which
// checks that binding against the same certificate.
//
// The certificate rotates: each connection presents the SVID that was
// current when it was opened, and the first call after a renewal (a new
// leaf certificate) opens new connections, the idle ones of the old
// certificate are closed, and the sources fetch a token bound to the new
// one before the next call (see [ClientCredentials] and [Exchange]).
type MTLS struct {
	// SVID is the source of the workload certificate and key: a
	// *workload.Identity, which renews it. Required.
	SVID x509svid.Source
	// TLSConfig verifies the server: RootCAs, ServerName, or a
	// VerifyConnection that authorizes a SPIFFE ID, such as the config of
	// workload.ClientConfig(identity, bundle, authorize). Its client
	// certificate settings (Certificates, GetClientCertificate) are
	// replaced by SVID, and session resumption is off, so that a new
	// certificate is never hidden behind a resumed session. nil: the
	// system roots, TLS 1.2 at least.
	TLSConfig *tls.Config
	// Transport is the template of the connections (timeouts, proxy,
	// pool sizes); nil: a clone of http.DefaultTransport.
	Transport *http.Transport
}

// CertTransport is an http.RoundTripper over mutual TLS with a rotating
// workload certificate: give it to [NewTransport] (or [NewResilient]) as
// the base, so that the downstream service sees the certificate that the
// tokens of a source built with the same [MTLS] are bound to.
//
// Connections are pooled per leaf certificate: after a renewal, the first
// request makes a new pool, whose connections present the new certificate,
// and closes the idle connections of the old one (requests in flight on
// them finish). A CertTransport is safe for concurrent use.
type CertTransport struct {
	src  x509svid.Source
	tmpl *http.Transport

	mu    sync.Mutex
	leaf  *x509.Certificate // of cur
	thumb string            // token.CertificateThumbprint of leaf
	cur   *http.Transport
}

var _ http.RoundTripper = (*CertTransport)(nil)

// NewCertTransport checks m and returns a transport presenting m.SVID's
// current certificate.
func NewCertTransport(m MTLS) (*CertTransport, error) {
	if m.SVID == nil {
		return nil, relayErr("mTLS: an SVID source (a *workload.Identity) is required")
	}
	var tmpl *http.Transport
	if m.Transport != nil {
		tmpl = m.Transport.Clone()
	} else if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		tmpl = dt.Clone()
	} else {
		tmpl = &http.Transport{}
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.TLSConfig != nil {
		tc = m.TLSConfig.Clone()
	}
	tc.Certificates, tc.GetClientCertificate, tc.ClientSessionCache = nil, nil, nil
	tmpl.TLSClientConfig = tc
	t := &CertTransport{src: m.SVID, tmpl: tmpl}
	if _, err := t.current(); err != nil {
		return nil, err
	}
	return t, nil
}

// Thumbprint is the RFC 8705 §3.1 thumbprint (x5t#S256) of the current
// workload certificate: the cnf of the tokens fetched through t now.
func (t *CertTransport) Thumbprint() (string, error) {
	if _, err := t.current(); err != nil {
		return "", err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.thumb, nil
}

// RoundTrip sends req over a connection that presents the current
// workload certificate.
func (t *CertTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	cur, err := t.current()
	if err != nil {
		if hasBody(req) {
			req.Body.Close()
		}
		return nil, err
	}
	return cur.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of the current pool.
func (t *CertTransport) CloseIdleConnections() {
	t.mu.Lock()
	cur := t.cur
	t.mu.Unlock()
	if cur != nil {
		cur.CloseIdleConnections()
	}
}

// current returns the pool of the SVID's current leaf, making it (and
// retiring the previous one) when the leaf changed.
func (t *CertTransport) current() (*http.Transport, error) {
	svid, err := t.src.GetX509SVID()
	if err != nil {
		return nil, relayErr("mTLS: workload certificate: %w", err)
	}
	if svid == nil || len(svid.Certificates) == 0 || svid.PrivateKey == nil {
		return nil, relayErr("mTLS: the workload certificate source has no certificate")
	}
	leaf := svid.Certificates[0]
	t.mu.Lock()
	defer t.mu.Unlock()
	if leaf == t.leaf && t.cur != nil {
		return t.cur, nil
	}
	cert := &tls.Certificate{PrivateKey: svid.PrivateKey, Leaf: leaf}
	for _, c := range svid.Certificates {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	next := t.tmpl.Clone()
	next.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return cert, nil // this pool's certificate, whatever the source holds now
	}
	if old := t.cur; old != nil {
		old.CloseIdleConnections()
	}
	t.cur, t.leaf, t.thumb = next, leaf, token.CertificateThumbprint(leaf.Raw)
	return next, nil
}

// certClient returns the token client of a source with m: hc (nil: a
// new one) over a CertTransport of m. hc may not have a transport of its
// own: the connections are m's.
func certClient(hc *http.Client, m *MTLS) (*http.Client, *CertTransport, error) {
	if m == nil {
		return hc, nil, nil
	}
	if hc != nil && hc.Transport != nil {
		return nil, nil, errors.New("with MTLS, the token endpoint's connections are MTLS.Transport's: leave HTTPClient.Transport nil")
	}
	ct, err := NewCertTransport(*m)
	if err != nil {
		return nil, nil, err
	}
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	c.Transport = ct
	return c, ct, nil
}

// boundTo is the thumbprint of the certificate the tokens fetched now are
// bound to: "" without mTLS.
func boundTo(ct *CertTransport) (string, error) {
	if ct == nil {
		return "", nil
	}
	return ct.Thumbprint()
}
