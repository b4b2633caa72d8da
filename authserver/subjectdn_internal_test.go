package authserver

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func rawSubject(t testing.TB, n pkix.Name) []byte {
	t.Helper()
	der, err := asn1.Marshal(n.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestSubjectDNMatching(t *testing.T) {
	billing := rawSubject(t, pkix.Name{CommonName: "billing", Organization: []string{"Example Corp"}, Country: []string{"DE"}})
	for _, c := range []struct {
		name, dn string
		match    bool
	}{
		{"RFC 4514 order", "CN=billing,O=Example Corp,C=DE", true},
		{"case and spaces", "cn=Billing , o = example   corp, c=de", true},
		{"dotted OIDs", "2.5.4.3=billing,2.5.4.10=Example Corp,OID.2.5.4.6=DE", true},
		{"semicolons", "CN=billing;O=Example Corp;C=DE", true},
		{"another CN", "CN=orders,O=Example Corp,C=DE", false},
		{"reversed order", "C=DE,O=Example Corp,CN=billing", false},
		{"an RDN missing", "CN=billing,O=Example Corp", false},
		{"a multi-valued RDN instead of two", "CN=billing+O=Example Corp,C=DE", false},
		{"an escaped comma is a value", `CN=billing\,O=Example Corp,C=DE`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			want, err := normalizeDN(c.dn)
			if err != nil {
				t.Fatalf("normalizeDN(%q): %v", c.dn, err)
			}
			got, err := normalizeRawSubject(billing)
			if err != nil {
				t.Fatal(err)
			}
			if (got == want) != c.match {
				t.Fatalf("%q against the certificate's %q: match %v, want %v", want, got, got == want, c.match)
			}
		})
	}
	// A value with separators escaped matches the certificate that holds
	// them, and only it.
	odd := rawSubject(t, pkix.Name{CommonName: "a,b+c"})
	want, _ := normalizeDN(`CN=a\,b\+c`)
	if got, _ := normalizeRawSubject(odd); got != want {
		t.Errorf("escaped separators: %q, want %q", got, want)
	}
	hex, _ := normalizeDN(`CN=a\2cb\2bc`)
	if hex != want {
		t.Errorf("hex escapes: %q, want %q", hex, want)
	}
}

func TestSubjectDNRefusals(t *testing.T) {
	for _, dn := range []string{
		"", "   ", "CN", "CN=a,", "=a", "CN=a,,O=b", `CN=a\`, `CN=a\4`, `CN=a\zz`, "FOO=bar", "CN=#0403616263", "1..2=a", `C\N=a`,
	} {
		if got, err := normalizeDN(dn); err == nil {
			t.Errorf("normalizeDN(%q) = %q, want an error", dn, got)
		}
	}
	if _, err := normalizeRawSubject([]byte{0x30, 0x03, 0x01}); err == nil {
		t.Error("a malformed DER subject was accepted")
	}
}

// FuzzNormalizeDN: the parser never panics, and its normalized form is
// stable (normalizing it again changes nothing).
func FuzzNormalizeDN(f *testing.F) {
	for _, s := range []string{"CN=billing,O=Example Corp", `CN=a\,b\+c+OU=x;C=DE`, `2.5.4.3=\41\42`, "cn = a  b ,o=c", "CN=a+CN=b", `UID=x\\y`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := normalizeDN(s)
		if err != nil {
			return
		}
		again, err := normalizeDN(n)
		if err != nil || again != n {
			t.Fatalf("normalizeDN(%q) = %q, again %q (%v)", s, n, again, err)
		}
	})
}
