package gateway

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certReloader serves the listener's certificate and reloads it when the
// files change (checked at most once per second, on handshakes). A new
// pair that does not load is logged and the old one stays.
type certReloader struct {
	log *slog.Logger

	mu        sync.Mutex
	certFile  string
	keyFile   string
	cert      *tls.Certificate
	certMod   time.Time
	keyMod    time.Time
	lastCheck time.Time
}

func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	c := &certReloader{log: log}
	if err := c.setFiles(certFile, keyFile); err != nil {
		return nil, err
	}
	return c, nil
}

// setFiles loads a pair now; on error the old pair stays.
func (c *certReloader) setFiles(certFile, keyFile string) error {
	cert, cm, km, err := loadPair(certFile, keyFile)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.certFile, c.keyFile, c.cert, c.certMod, c.keyMod, c.lastCheck = certFile, keyFile, cert, cm, km, time.Now()
	return nil
}

func loadPair(certFile, keyFile string) (*tls.Certificate, time.Time, time.Time, error) {
	ci, err := os.Stat(certFile)
	if err != nil {
		return nil, time.Time{}, time.Time{}, fmt.Errorf("gateway: tls.cert_file: %w", err)
	}
	ki, err := os.Stat(keyFile)
	if err != nil {
		return nil, time.Time{}, time.Time{}, fmt.Errorf("gateway: tls.key_file: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, time.Time{}, time.Time{}, fmt.Errorf("gateway: tls: loading %s and %s: %w", certFile, keyFile, err)
	}
	return &cert, ci.ModTime(), ki.ModTime(), nil
}

func (c *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.lastCheck) >= time.Second {
		c.lastCheck = time.Now()
		ci, err1 := os.Stat(c.certFile)
		ki, err2 := os.Stat(c.keyFile)
		if err1 == nil && err2 == nil && (!ci.ModTime().Equal(c.certMod) || !ki.ModTime().Equal(c.keyMod)) {
			cert, cm, km, err := loadPair(c.certFile, c.keyFile)
			if err != nil {
				c.log.Warn("the new TLS certificate does not load; keeping the old one", "error", err.Error())
				c.certMod, c.keyMod = ci.ModTime(), ki.ModTime() // do not retry on every handshake
			} else {
				c.cert, c.certMod, c.keyMod = cert, cm, km
				c.log.Info("TLS certificate reloaded", "cert_file", c.certFile)
			}
		}
	}
	return c.cert, nil
}
