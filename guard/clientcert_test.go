package guard

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// certDER is a stand-in DER: the parsers hash it and never parse it.
var certDER = []byte("0\x82\x01\x00not-really-a-certificate")

func pemOf(der []byte) string {
	return "-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString(der) + "\n-----END CERTIFICATE-----\n"
}

func TestParseCertificateHeader(t *testing.T) {
	sum := sha256.Sum256(certDER)
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	hash := hex.EncodeToString(sum[:])
	esc := url.PathEscape(pemOf(certDER))
	other := sha256.Sum256([]byte("other"))
	tests := []struct {
		name   string
		format CertificateFormat
		value  string
		ok     bool
	}{
		{"xfcc cert quoted", CertificateXFCC, `Cert="` + esc + `"`, true},
		{"xfcc cert bare", CertificateXFCC, `Cert=` + esc, true},
		{"xfcc hash", CertificateXFCC, "By=spiffe://a/b;Hash=" + hash, true},
		{"xfcc both agree", CertificateXFCC, "Hash=" + hash + `;Cert="` + esc + `"`, true},
		{"xfcc last element", CertificateXFCC, `Hash=` + hex.EncodeToString(other[:]) + `;Subject="a,b;c",Hash=` + hash, true},
		{"xfcc both disagree", CertificateXFCC, "Hash=" + hex.EncodeToString(other[:]) + `;Cert="` + esc + `"`, false},
		{"xfcc two certs", CertificateXFCC, `Cert="` + esc + `";Cert="` + esc + `"`, false},
		{"xfcc short hash", CertificateXFCC, "Hash=abcd", false},
		{"xfcc no cert", CertificateXFCC, "By=spiffe://a/b;URI=spiffe://c/d", false},
		{"xfcc unterminated", CertificateXFCC, `Subject="abc;Hash=` + hash, false},
		{"xfcc pair without =", CertificateXFCC, "Hash", false},
		{"pem", CertificateEscapedPEM, esc, true},
		{"pem with +", CertificateEscapedPEM, strings.ReplaceAll(esc, "%2B", "+"), true},
		{"pem not escaped right", CertificateEscapedPEM, "%zz", false},
		{"pem of a key", CertificateEscapedPEM, url.PathEscape("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), false},
		{"pem empty", CertificateEscapedPEM, "", false},
		{"rfc9440", CertificateRFC9440, ":" + base64.StdEncoding.EncodeToString(certDER) + ":", true},
		{"rfc9440 without colons", CertificateRFC9440, base64.StdEncoding.EncodeToString(certDER), false},
		{"rfc9440 base64url", CertificateRFC9440, ":" + base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff}) + ":", false},
		{"too long", CertificateEscapedPEM, strings.Repeat("A", maxCertHeader+1), false},
		{"unknown format", "der", "x", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCertificateHeader(tc.format, tc.value)
			if tc.ok && (err != nil || got != want) {
				t.Fatalf("got %q, %v; want %q", got, err, want)
			}
			if !tc.ok && err == nil {
				t.Fatalf("got %q, want an error", got)
			}
		})
	}
}

// FuzzParseCertificateHeader: no value panics, and a value that parses
// gives a thumbprint of the x5t#S256 form (43 base64url characters).
func FuzzParseCertificateHeader(f *testing.F) {
	sum := sha256.Sum256(certDER)
	esc := url.PathEscape(pemOf(certDER))
	for _, seed := range []string{
		`By=spiffe://a/b;Hash=` + hex.EncodeToString(sum[:]) + `;Cert="` + esc + `";Subject="CN=x, O=\"y\""`,
		`Hash=00,Hash=` + hex.EncodeToString(sum[:]),
		esc,
		":" + base64.StdEncoding.EncodeToString(certDER) + ":",
		`"`, `\`, ",;,", "Cert=%", "::",
	} {
		for _, format := range []CertificateFormat{CertificateXFCC, CertificateEscapedPEM, CertificateRFC9440} {
			f.Add(string(format), seed)
		}
	}
	f.Fuzz(func(t *testing.T, format, v string) {
		got, err := parseCertificateHeader(CertificateFormat(format), v)
		if err != nil {
			return
		}
		if b, derr := base64.RawURLEncoding.DecodeString(got); derr != nil || len(b) != sha256.Size {
			t.Fatalf("thumbprint %q of %q", got, v)
		}
	})
}
