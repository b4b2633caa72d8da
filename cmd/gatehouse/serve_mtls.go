package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/internal/bodyread"
	"github.com/gatehousehq/gatehouse/internal/config"
)

// The auth server's mutual-TLS listener (authserver.mtls, RFC 8705): the
// same endpoints over TLS with client certificates requested
// (authserver.MTLSServerConfig), served by Server.MTLSHandler.

// certCheckEvery is how often the listener's certificate files are
// checked for a change.
const certCheckEvery = 10 * time.Second

// mtlsSetup is what the mtls block configures before the auth server is
// built: the CAs of tls_client_auth and the server certificate.
type mtlsSetup struct {
	cfg   *config.MTLS
	roots *x509.CertPool // nil without client_ca_file
	cert  *certFiles
}

// mtlsOf reads the files of the mtls block (nil: none); errors name
// FILE:LINE and the key.
func mtlsOf(file string, a *config.AuthServer) (*mtlsSetup, error) {
	m := a.MTLS
	if m == nil {
		return nil, nil
	}
	at := func(key, format string, args ...any) error {
		return usagef("%s", (&config.Error{Path: file, Line: m.Line, Key: key, Reason: fmt.Sprintf(format, args...)}).Error())
	}
	out := &mtlsSetup{cfg: m}
	if m.ClientCAFile != "" {
		pem, err := os.ReadFile(m.ClientCAFile)
		if err != nil {
			return nil, at("authserver.mtls.client_ca_file", "%v", err)
		}
		out.roots = x509.NewCertPool()
		if !out.roots.AppendCertsFromPEM(pem) {
			return nil, at("authserver.mtls.client_ca_file", "%s holds no PEM certificate: give the CA bundle, e.g. the ca.crt that 'gatehouse ca init' writes", m.ClientCAFile)
		}
	}
	cf := &certFiles{certFile: m.CertFile, keyFile: m.KeyFile}
	if err := cf.load(); err != nil {
		return nil, at("authserver.mtls.cert_file", "%v", err)
	}
	out.cert = cf
	return out, nil
}

// url and roots are the authserver.Config fields (zero without mtls).
func (m *mtlsSetup) url() string {
	if m == nil {
		return ""
	}
	return m.cfg.URL
}

func (m *mtlsSetup) clientCAs() *x509.CertPool {
	if m == nil {
		return nil
	}
	return m.roots
}

// serve serves srv's MTLSHandler on ln, with the limits of the main
// listener.
func (m *mtlsSetup) serve(ln net.Listener, srv *authserver.Server, limits config.ServerLimits, log *slog.Logger, handler slog.Handler) (*http.Server, chan error) {
	m.cert.log = log
	hs := &http.Server{
		Handler:           bodyread.Handler(srv.MTLSHandler(), bodyread.Limits{Idle: limits.BodyIdleTimeout, Total: limits.BodyTimeout}),
		TLSConfig:         authserver.MTLSServerConfig(m.cert.get),
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.ServeTLS(authListener(ln, limits), "", "") }()
	return hs, served
}

// certFiles is a certificate and key read from files, read again when
// either file changes (checked at most every certCheckEvery, on a
// handshake); a change that does not load keeps the previous pair and is
// logged.
type certFiles struct {
	certFile, keyFile string
	log               *slog.Logger

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string // the files' sizes and modification times
	checkedAt time.Time
}

func (c *certFiles) fileStamp() string {
	var s string
	for _, p := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(p); err == nil {
			s += fmt.Sprintf("%d@%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return s
}

func (c *certFiles) load() error {
	stamp := c.fileStamp()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("the certificate and key do not load: %w", err)
	}
	c.cert, c.stamp, c.checkedAt = &cert, stamp, time.Now()
	return nil
}

// get is tls.Config.GetCertificate.
func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checkedAt) >= certCheckEvery {
		c.checkedAt = time.Now()
		if c.fileStamp() != c.stamp {
			prev := c.cert
			if err := c.load(); err != nil {
				c.cert = prev
				if c.log != nil {
					c.log.Warn("the mutual-TLS certificate changed but does not load; serving the previous one", "component", "authserver", "cert_file", c.certFile, "error", err)
				}
			} else if c.log != nil {
				c.log.Info("the mutual-TLS certificate was reloaded", "component", "authserver", "cert_file", c.certFile)
			}
		}
	}
	return c.cert, nil
}
