package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/gatehousehq/gatehouse/workload"
)

func TestCAInitAndIssue(t *testing.T) {
	dir := t.TempDir()
	caDir, out := filepath.Join(dir, "ca"), filepath.Join(dir, "orders")
	r := gh(t, "", "ca", "init", "--trust-domain", "shop.test", "--dir", caDir)
	if r.code != 0 || !strings.Contains(r.stdout, "CA for spiffe://shop.test written to") {
		t.Fatalf("ca init: %d %q %q", r.code, r.stdout, r.stderr)
	}
	key, _ := os.ReadFile(filepath.Join(caDir, workload.CAKeyFile))
	if strings.Contains(r.stdout+r.stderr, string(key[30:60])) {
		t.Fatal("ca init printed the key")
	}
	r = gh(t, "", "ca", "issue", "--dir", caDir, "--id", "spiffe://shop.test/orders", "--ttl", "2h", "--out", out)
	if r.code != 0 || !strings.Contains(r.stdout, "SVID for spiffe://shop.test/orders written to") {
		t.Fatalf("ca issue: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if st, err := os.Stat(filepath.Join(out, workload.SVIDKeyFile)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("svid.key: %v %v", st, err)
	}
	svid, err := x509svid.Load(filepath.Join(out, workload.SVIDCertFile), filepath.Join(out, workload.SVIDKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	td := spiffeid.RequireTrustDomainFromString("shop.test")
	bundle, err := x509bundle.Load(td, filepath.Join(out, workload.BundleFile))
	if err != nil {
		t.Fatal(err)
	}
	if id, _, err := x509svid.Verify(svid.Certificates, bundle); err != nil || id.String() != "spiffe://shop.test/orders" {
		t.Fatalf("the issued SVID does not verify against the written bundle: %v %v", id, err)
	}
}

func TestCARefusals(t *testing.T) {
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	if r := gh(t, "", "ca", "init", "--trust-domain", "shop.test", "--dir", caDir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"bad trust domain", []string{"ca", "init", "--trust-domain", "Shop Test", "--dir", filepath.Join(dir, "x")}, "is not a trust domain name"},
		{"no dir", []string{"ca", "init", "--trust-domain", "shop.test"}, "--dir is required"},
		{"existing CA", []string{"ca", "init", "--trust-domain", "shop.test", "--dir", caDir}, "already holds a CA"},
		{"short validity", []string{"ca", "init", "--trust-domain", "shop.test", "--dir", filepath.Join(dir, "y"), "--validity", "1m"}, "shorter than an hour"},
		{"bad id", []string{"ca", "issue", "--dir", caDir, "--id", "orders", "--out", filepath.Join(dir, "o")}, "is not a SPIFFE ID"},
		{"other domain", []string{"ca", "issue", "--dir", caDir, "--id", "spiffe://evil.test/orders", "--out", filepath.Join(dir, "o")}, "is not in the trust domain"},
		{"no out", []string{"ca", "issue", "--dir", caDir, "--id", "spiffe://shop.test/orders"}, "--out is required"},
		{"missing CA", []string{"ca", "issue", "--dir", filepath.Join(dir, "none"), "--id", "spiffe://shop.test/orders", "--out", filepath.Join(dir, "o")}, "gatehouse ca init"},
		{"ttl too long", []string{"ca", "issue", "--dir", caDir, "--id", "spiffe://shop.test/orders", "--ttl", "9000h", "--out", filepath.Join(dir, "o")}, "outside"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := gh(t, "", tt.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tt.want)
			}
			assertOneLine(t, r.stderr)
		})
	}
}
