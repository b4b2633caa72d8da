package workload

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// Lifetimes of what a CA signs.
const (
	// DefaultCAValidity is how long a new CA is valid.
	DefaultCAValidity = 365 * 24 * time.Hour
	// DefaultSVIDTTL is the lifetime of an SVID issued with ttl 0.
	DefaultSVIDTTL = time.Hour
	// MinSVIDTTL and MaxSVIDTTL bound an SVID's lifetime: short enough that
	// a stolen key expires soon, long enough to renew at half life.
	MinSVIDTTL = time.Minute
	MaxSVIDTTL = 30 * 24 * time.Hour
	// backdate is how far before now certificates start, for clock skew.
	backdate = time.Minute
)

// File names of a CA folder.
const (
	CACertFile = "ca.crt"
	CAKeyFile  = "ca.key"
)

// CA is a certificate authority for one SPIFFE trust domain: it signs the
// X509-SVIDs of the workloads of that domain. A CA is safe for concurrent
// use.
type CA struct {
	td   spiffeid.TrustDomain
	cert *x509.Certificate
	key  crypto.Signer
	now  func() time.Time
}

// CAOption configures [NewCA] and [LoadCA].
type CAOption interface{ apply(*caConfig) error }

type caConfig struct {
	validity time.Duration
	now      func() time.Time
}

type caOptionFunc func(*caConfig) error

func (f caOptionFunc) apply(c *caConfig) error { return f(c) }

// WithValidity sets how long a new CA is valid (default
// DefaultCAValidity); [LoadCA] ignores it.
func WithValidity(d time.Duration) CAOption {
	return caOptionFunc(func(c *caConfig) error {
		if d < time.Hour {
			return fmt.Errorf("workload: CA validity %s is shorter than an hour", d)
		}
		c.validity = d
		return nil
	})
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) CAOption {
	return caOptionFunc(func(c *caConfig) error {
		if now == nil {
			return errors.New("workload: nil clock")
		}
		c.now = now
		return nil
	})
}

func caOptions(opts []CAOption) (caConfig, error) {
	c := caConfig{validity: DefaultCAValidity, now: time.Now}
	for _, o := range opts {
		if err := o.apply(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// NewCA creates a CA for td with a new ECDSA P-256 key and a self-signed
// root certificate whose URI SAN is the trust domain's ID.
func NewCA(td spiffeid.TrustDomain, opts ...CAOption) (*CA, error) {
	if td.IsZero() {
		return nil, errors.New("workload: a trust domain is required, e.g. spiffeid.RequireTrustDomainFromString(\"gatehouse.test\")")
	}
	cfg, err := caOptions(opts)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("workload: generate CA key: %w", err)
	}
	now := cfg.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"gatehouse"}, CommonName: "gatehouse CA " + td.Name()},
		URIs:                  []*url.URL{td.ID().URL()},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(cfg.validity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // signs leaves only
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("workload: sign CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("workload: parse CA certificate: %w", err)
	}
	return &CA{td: td, cert: cert, key: key, now: cfg.now}, nil
}

// LoadCA reads a CA saved by [CA.Save] from dir. It refuses a certificate
// that is not a CA of one trust domain, and a key that does not match it.
func LoadCA(dir string, opts ...CAOption) (*CA, error) {
	cfg, err := caOptions(opts)
	if err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, CACertFile))
	if err != nil {
		return nil, fmt.Errorf("workload: load CA: %w (create one with `gatehouse ca init --dir %s`)", err, dir)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("workload: load CA: %w", err)
	}
	return ParseCA(certPEM, keyPEM, cfg.now)
}

// ParseCA parses a CA from its PEM certificate and PKCS #8 PEM key; now is
// the clock (nil: time.Now).
func ParseCA(certPEM, keyPEM []byte, now func() time.Time) (*CA, error) {
	if now == nil {
		now = time.Now
	}
	cert, err := parseOne(certPEM, "CERTIFICATE", CACertFile)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("workload: %s: %w", CACertFile, err)
	}
	if !c.IsCA || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("workload: %s is not a CA certificate (no CA flag or no keyCertSign usage)", CACertFile)
	}
	if len(c.URIs) != 1 {
		return nil, fmt.Errorf("workload: %s must name one trust domain as its URI SAN (spiffe://DOMAIN), it has %d URIs", CACertFile, len(c.URIs))
	}
	id, err := spiffeid.FromURI(c.URIs[0])
	if err != nil {
		return nil, fmt.Errorf("workload: %s: URI SAN: %w", CACertFile, err)
	}
	der, err := parseOne(keyPEM, "PRIVATE KEY", CAKeyFile)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("workload: %s: %w", CAKeyFile, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("workload: %s: %T cannot sign", CAKeyFile, k)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(c.PublicKey) {
		return nil, fmt.Errorf("workload: %s does not belong to %s", CAKeyFile, CACertFile)
	}
	return &CA{td: id.TrustDomain(), cert: c, key: signer, now: now}, nil
}

func parseOne(data []byte, typ, name string) ([]byte, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != typ {
		return nil, fmt.Errorf("workload: %s is not a PEM %s", name, typ)
	}
	return b.Bytes, nil
}

// Save writes the CA to dir (created with mode 0700 if missing): ca.crt,
// and ca.key with mode 0600. Each file is written to a temporary file and
// renamed, so a crash leaves the old file or the new one, never half.
func (ca *CA) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("workload: save CA: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.key)
	if err != nil {
		return fmt.Errorf("workload: save CA: %w", err)
	}
	if err := writeFile(filepath.Join(dir, CAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, CACertFile), ca.CertificatePEM(), 0o644)
}

// writeFile writes data to path atomically with mode perm.
func writeFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("workload: write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, there is nothing to remove
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("workload: write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("workload: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("workload: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("workload: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("workload: write %s: %w", path, err)
	}
	return nil
}

// TrustDomain is the CA's trust domain.
func (ca *CA) TrustDomain() spiffeid.TrustDomain { return ca.td }

// Certificate is the CA's root certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// CertificatePEM is the root certificate in PEM: the trust bundle to give
// to every workload.
func (ca *CA) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// Bundle is the trust bundle of the CA's domain: what a workload verifies
// its peers against.
func (ca *CA) Bundle() *x509bundle.Bundle {
	return x509bundle.FromX509Authorities(ca.td, []*x509.Certificate{ca.cert})
}

// Issue signs a new X509-SVID for id with a new ECDSA P-256 key, valid for
// ttl (0: DefaultSVIDTTL; between MinSVIDTTL and MaxSVIDTTL) but never
// beyond the CA itself. id must be a workload of the CA's trust domain (a
// non-empty path). The certificate serves both ends of mTLS.
func (ca *CA) Issue(id spiffeid.ID, ttl time.Duration) (*x509svid.SVID, error) {
	switch {
	case id.IsZero():
		return nil, errors.New("workload: issue: a SPIFFE ID is required, e.g. spiffe://" + ca.td.Name() + "/orders")
	case !id.MemberOf(ca.td):
		return nil, fmt.Errorf("workload: issue: %s is not in the trust domain %s of this CA", id, ca.td)
	case id.Path() == "":
		return nil, fmt.Errorf("workload: issue: %s names the trust domain, not a workload: add a path, e.g. %s/orders", id, id)
	case ttl == 0:
		ttl = DefaultSVIDTTL
	case ttl < MinSVIDTTL || ttl > MaxSVIDTTL:
		return nil, fmt.Errorf("workload: issue: ttl %s is outside [%s, %s]", ttl, MinSVIDTTL, MaxSVIDTTL)
	}
	now := ca.now()
	notAfter := now.Add(ttl)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	if !notAfter.After(now) {
		return nil, fmt.Errorf("workload: issue: the CA expired at %s: create a new one with `gatehouse ca init`", ca.cert.NotAfter.Format(time.RFC3339))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("workload: issue: generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"gatehouse"}},
		URIs:                  []*url.URL{id.URL()},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("workload: issue %s: %w", id, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("workload: issue %s: %w", id, err)
	}
	return &x509svid.SVID{ID: id, Certificates: []*x509.Certificate{leaf}, PrivateKey: key}, nil
}

// serial is a random 128-bit certificate serial number.
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic("workload: crypto/rand failed: " + err.Error()) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

// File names of a workload folder written by [SaveSVID].
const (
	SVIDCertFile = "svid.crt"
	SVIDKeyFile  = "svid.key"
	BundleFile   = "bundle.crt"
)

// SaveSVID writes svid to dir (created with mode 0700 if missing) as
// svid.crt (the chain, leaf first), svid.key (PKCS #8, mode 0600) and, when
// bundlePEM is given, bundle.crt: what [NewFileIdentity] and
// x509bundle.Load read. The key is written first, each file atomically, so
// a reader never sees a certificate without its key.
func SaveSVID(dir string, svid *x509svid.SVID, bundlePEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("workload: save SVID: %w", err)
	}
	certPEM, keyPEM, err := svid.Marshal()
	if err != nil {
		return fmt.Errorf("workload: save SVID: %w", err)
	}
	if err := writeFile(filepath.Join(dir, SVIDKeyFile), keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, SVIDCertFile), certPEM, 0o644); err != nil {
		return err
	}
	if bundlePEM != nil {
		return writeFile(filepath.Join(dir, BundleFile), bundlePEM, 0o644)
	}
	return nil
}
