package workload_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/gatehousehq/gatehouse/workload"
)

var (
	td       = spiffeid.RequireTrustDomainFromString("gatehouse.test")
	orders   = spiffeid.RequireFromPath(td, "/orders")
	payments = spiffeid.RequireFromPath(td, "/payments")
	stranger = spiffeid.RequireFromPath(td, "/stranger")
)

func newCA(t testing.TB, opts ...workload.CAOption) *workload.CA {
	t.Helper()
	ca, err := workload.NewCA(td, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func issue(t testing.TB, ca *workload.CA, id spiffeid.ID) *x509svid.SVID {
	t.Helper()
	svid, err := ca.Issue(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	return svid
}

// serveMTLS serves h over mutual TLS as svid, admitting the clients that
// authorize allows, and returns its https URL.
func serveMTLS(t testing.TB, svid x509svid.Source, bundle x509bundle.Source, authorize tlsconfig.Authorizer, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	srv.ErrorLog = discardLog()
	go srv.Serve(tls.NewListener(ln, workload.ServerConfig(svid, bundle, authorize)))
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

// client is an HTTP client presenting svid that talks only to server.
func client(svid x509svid.Source, bundle x509bundle.Source, server spiffeid.ID) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: workload.ClientConfig(svid, bundle, tlsconfig.AuthorizeID(server))}}
}

// whoami answers the caller's SPIFFE ID.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, err := workload.PeerID(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	io.WriteString(w, id.String())
})

func get(c *http.Client, u string) (int, string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestMutualTLS(t *testing.T) {
	ca := newCA(t)
	bundle := ca.Bundle()
	paymentsURL := serveMTLS(t, issue(t, ca, payments), bundle, tlsconfig.AuthorizeID(orders), whoami)

	status, body, err := get(client(issue(t, ca, orders), bundle, payments), paymentsURL)
	if err != nil || status != http.StatusOK || body != orders.String() {
		t.Fatalf("orders → payments: %d %q %v, want 200 and the peer ID %s", status, body, err, orders)
	}

	// Each of these must fail at the handshake.
	otherCA := newCA(t) // same trust domain name, other key: an impostor
	expiredCA := newCA(t, workload.WithClock(func() time.Time { return time.Now().Add(-3 * time.Hour) }))
	expired, err := expiredCA.Issue(orders, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expiredBundle := x509bundle.FromX509Authorities(td, []*x509.Certificate{ca.Certificate(), expiredCA.Certificate()})
	ordersSVID := issue(t, ca, orders)
	for _, tc := range []struct {
		name   string
		client *http.Client
	}{
		{"a workload the server does not admit", client(issue(t, ca, stranger), bundle, payments)},
		{"an SVID of another CA of the same name", client(issue(t, otherCA, orders), bundle, payments)},
		{"an expired SVID", client(expired, expiredBundle, payments)},
		{"no client certificate", &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: tlsconfig.TLSClientConfig(bundle, tlsconfig.AuthorizeID(payments))}}},
		{"a certificate signed by a workload's leaf", client(forgeWithLeaf(t, ordersSVID, spiffeid.RequireFromPath(td, "/admin")), bundle, payments)},
		{"the client expects another server", client(ordersSVID, bundle, stranger)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, err := get(tc.client, paymentsURL)
			if err == nil {
				t.Fatalf("admitted: %d %q", status, body)
			}
		})
	}
}

// forgeWithLeaf makes a certificate for id signed by leaf's key, as if a
// workload's certificate were a CA.
func forgeWithLeaf(t *testing.T, leaf *x509svid.SVID, id spiffeid.ID) *x509svid.SVID {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), URIs: []*url.URL{id.URL()},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, leaf.Certificates[0], key.Public(), leaf.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &x509svid.SVID{ID: id, Certificates: []*x509.Certificate{cert, leaf.Certificates[0]}, PrivateKey: key}
}

func TestRequirePeer(t *testing.T) {
	ca := newCA(t)
	bundle := ca.Bundle()
	mux := http.NewServeMux()
	mux.Handle("/pay", workload.RequirePeer(spiffeid.MatchID(orders), whoami))
	mux.Handle("/status", whoami)
	// The TLS config admits every workload of the domain; /pay is for orders.
	u := serveMTLS(t, issue(t, ca, payments), bundle, tlsconfig.AuthorizeMemberOf(td), mux)

	if status, body, err := get(client(issue(t, ca, orders), bundle, payments), u+"/pay"); err != nil || status != http.StatusOK {
		t.Fatalf("orders → /pay: %d %q %v", status, body, err)
	}
	c := client(issue(t, ca, stranger), bundle, payments)
	if status, _, err := get(c, u+"/status"); err != nil || status != http.StatusOK {
		t.Fatalf("stranger → /status: %d %v", status, err)
	}
	resp, err := c.Get(u + "/pay")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p map[string]any
	if json.NewDecoder(resp.Body).Decode(&p); resp.StatusCode != http.StatusForbidden ||
		resp.Header.Get("Content-Type") != "application/problem+json" || p["status"] != float64(403) {
		t.Fatalf("stranger → /pay: %d %s %v, want 403 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), p)
	}

	// Without TLS there is no peer: refused, never served.
	rec := &recorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/pay", nil)
	workload.RequirePeer(spiffeid.MatchID(orders), whoami).ServeHTTP(rec, req)
	if rec.status != http.StatusForbidden || !strings.Contains(rec.body.String(), "mutual TLS") {
		t.Fatalf("plain request: %d %s", rec.status, rec.body.String())
	}
}

type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(s int)           { r.status = s }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func TestIssueRefusals(t *testing.T) {
	ca := newCA(t)
	oldCA := newCA(t, workload.WithValidity(time.Hour), workload.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) }))
	expiredNow, err := workload.ParseCA(mustSave(t, oldCA))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ca   *workload.CA
		id   spiffeid.ID
		ttl  time.Duration
		want string
	}{
		{"no ID", ca, spiffeid.ID{}, 0, "a SPIFFE ID is required"},
		{"another trust domain", ca, spiffeid.RequireFromString("spiffe://elsewhere.test/orders"), 0, "is not in the trust domain"},
		{"the trust domain itself", ca, td.ID(), 0, "names the trust domain"},
		{"ttl too short", ca, orders, time.Second, "outside"},
		{"ttl too long", ca, orders, 365 * 24 * time.Hour, "outside"},
		{"expired CA", expiredNow, orders, 0, "the CA expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.ca.Issue(tc.id, tc.ttl)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// An SVID never outlives its CA.
	short := newCA(t, workload.WithValidity(time.Hour))
	svid, err := short.Issue(orders, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if svid.Certificates[0].NotAfter.After(short.Certificate().NotAfter) {
		t.Fatal("the SVID outlives the CA")
	}
}

// mustSave saves ca to a folder and returns the folder's file contents
// and a clock of now, as ParseCA takes them.
func mustSave(t *testing.T, ca *workload.CA) ([]byte, []byte, func() time.Time) {
	t.Helper()
	dir := t.TempDir()
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	c, _ := os.ReadFile(filepath.Join(dir, workload.CACertFile))
	k, _ := os.ReadFile(filepath.Join(dir, workload.CAKeyFile))
	return c, k, time.Now
}

func TestSaveAndLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	ca := newCA(t)
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, workload.CAKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key mode %v %v, want 0600", st.Mode().Perm(), err)
	}
	loaded, err := workload.LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.TrustDomain() != td || !loaded.Certificate().Equal(ca.Certificate()) {
		t.Fatal("the loaded CA differs")
	}
	// What the loaded CA issues verifies against the saved one's bundle.
	svid := issue(t, loaded, orders)
	if _, _, err := x509svid.Verify(svid.Certificates, ca.Bundle()); err != nil {
		t.Fatalf("an SVID of the loaded CA does not verify: %v", err)
	}

	other := t.TempDir()
	if err := newCA(t).Save(other); err != nil {
		t.Fatal(err)
	}
	leafPEM, _, _ := issue(t, ca, orders).Marshal()
	certPEM, _ := os.ReadFile(filepath.Join(dir, workload.CACertFile))
	otherKey, _ := os.ReadFile(filepath.Join(other, workload.CAKeyFile))
	goodKey, _ := os.ReadFile(filepath.Join(dir, workload.CAKeyFile))
	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"key of another CA", certPEM, otherKey, "does not belong"},
		{"a leaf as CA", leafPEM, goodKey, "not a CA certificate"},
		{"not PEM", []byte("hello"), goodKey, "is not a PEM CERTIFICATE"},
		{"key not PEM", certPEM, []byte("-----BEGIN RSA PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----\n"), "is not a PEM PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := workload.ParseCA(tc.cert, tc.key, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := workload.LoadCA(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "gatehouse ca init") {
		t.Fatalf("missing CA: %v", err)
	}
}

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock                 { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *clock) now() time.Time        { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration)   { c.ns.Add(int64(d)) }
func serialOf(s *x509svid.SVID) string { return s.Certificates[0].SerialNumber.String() }

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal(what)
}

func current(t *testing.T, i *workload.Identity) *x509svid.SVID {
	t.Helper()
	s, err := i.GetX509SVID()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// failing fails every Issue once fail is set.
type failing struct {
	ca   *workload.CA
	fail atomic.Bool
}

func (f *failing) Issue(id spiffeid.ID, ttl time.Duration) (*x509svid.SVID, error) {
	if f.fail.Load() {
		return nil, errors.New("CA unreachable")
	}
	return f.ca.Issue(id, ttl)
}

func TestIdentityRenewsAtHalfLife(t *testing.T) {
	clk := newClock()
	iss := &failing{ca: newCA(t)}
	id, err := workload.NewIdentity(iss, orders, workload.WithTTL(time.Hour), workload.WithCheckEvery(10*time.Millisecond),
		workload.WithIdentityClock(clk.now), workload.WithLogger(discardSlog()))
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	first := serialOf(current(t, id))
	if id.ID() != orders {
		t.Fatalf("ID %s", id.ID())
	}
	time.Sleep(50 * time.Millisecond)
	if serialOf(current(t, id)) != first {
		t.Fatal("renewed before half life")
	}
	// A failing renewal keeps the current certificate.
	iss.fail.Store(true)
	clk.add(31 * time.Minute)
	time.Sleep(50 * time.Millisecond)
	if serialOf(current(t, id)) != first {
		t.Fatal("the certificate changed although renewal failed")
	}
	iss.fail.Store(false)
	eventually(t, "not renewed after half its life", func() bool { return serialOf(current(t, id)) != first })
}

func TestFileIdentityReloadsChangedFiles(t *testing.T) {
	ca := newCA(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "svid.crt"), filepath.Join(dir, "svid.key")
	write := func(svid *x509svid.SVID, at time.Time) {
		c, k, err := svid.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		for f, data := range map[string][]byte{certFile: c, keyFile: k} {
			if err := os.WriteFile(f, data, 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(f, at, at)
		}
	}
	write(issue(t, ca, orders), time.Now().Add(-time.Hour))
	id, err := workload.NewFileIdentity(certFile, keyFile, workload.WithCheckEvery(10*time.Millisecond), workload.WithLogger(discardSlog()))
	if err != nil {
		t.Fatal(err)
	}
	defer id.Close()
	first := serialOf(current(t, id))

	// Garbage, then another workload's SVID: both refused, the old one kept.
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	os.Chtimes(certFile, time.Now().Add(-30*time.Minute), time.Now().Add(-30*time.Minute))
	time.Sleep(50 * time.Millisecond)
	write(issue(t, ca, stranger), time.Now().Add(-20*time.Minute))
	time.Sleep(50 * time.Millisecond)
	if got := current(t, id); serialOf(got) != first || got.ID != orders {
		t.Fatalf("identity changed to %s after bad files", got.ID)
	}
	// A renewed SVID of the same workload is picked up.
	renewed := issue(t, ca, orders)
	write(renewed, time.Now())
	eventually(t, "the renewed files were not loaded", func() bool { return serialOf(current(t, id)) == serialOf(renewed) })
}

func TestCAOptionRefusals(t *testing.T) {
	if _, err := workload.NewCA(spiffeid.TrustDomain{}); err == nil {
		t.Error("a CA without trust domain")
	}
	if _, err := workload.NewCA(td, workload.WithValidity(time.Minute)); err == nil {
		t.Error("a CA valid for a minute")
	}
	if _, err := workload.NewIdentity(nil, orders); err == nil {
		t.Error("an identity without issuer")
	}
	if _, err := workload.NewIdentity(newCA(t), orders, workload.WithTTL(time.Second)); err == nil {
		t.Error("an identity with a 1s TTL")
	}
}

func FuzzParseCA(f *testing.F) {
	ca, _ := workload.NewCA(td)
	dir := f.TempDir()
	ca.Save(dir)
	c, _ := os.ReadFile(filepath.Join(dir, workload.CACertFile))
	k, _ := os.ReadFile(filepath.Join(dir, workload.CAKeyFile))
	f.Add(c, k)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), k)
	f.Fuzz(func(t *testing.T, cert, key []byte) {
		got, err := workload.ParseCA(cert, key, nil)
		if err == nil && (got.TrustDomain().IsZero() || !got.Certificate().IsCA) {
			t.Fatalf("accepted a CA without trust domain or CA flag")
		}
	})
}

func discardLog() *log.Logger   { return log.New(io.Discard, "", 0) }
func discardSlog() *slog.Logger { return slog.New(slog.DiscardHandler) }
