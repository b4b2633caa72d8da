package guard

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gatehousehq/gatehouse/token"
)

// The client certificate of a request, for certificate-bound tokens
// (RFC 8705 §3): the leaf certificate of the TLS peer (r.TLS, which the
// server has when its tls.Config requests client certificates), or, from
// a trusted TLS-terminating proxy only, the certificate that proxy writes
// into a header. From a trusted proxy the header is the only source: the
// proxy's own TLS certificate is never taken for its client's.

// CertificateFormat is how a TLS-terminating proxy writes the client
// certificate into its header ([WithClientCertificateHeader]).
type CertificateFormat string

// The header formats of [WithClientCertificateHeader].
const (
	// CertificateXFCC is Envoy's X-Forwarded-Client-Cert: elements
	// separated by commas, one per proxy, each "Key=value" pairs
	// separated by semicolons. The last element is the one the nearest
	// proxy wrote; its Cert (the URL-encoded PEM of the certificate)
	// or Hash (the hex SHA-256 of its DER) identify the certificate; when
	// both are there they must agree. Configure Envoy with
	// forward_client_cert_details SANITIZE_SET and
	// set_current_client_cert_details cert: true (or Hash, which is
	// always sent).
	CertificateXFCC CertificateFormat = "xfcc"
	// CertificateEscapedPEM is the URL-encoded PEM of the certificate,
	// as nginx's $ssl_client_escaped_cert:
	//	proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
	CertificateEscapedPEM CertificateFormat = "pem"
	// CertificateRFC9440 is the Client-Cert header field of RFC 9440:
	// the base64 of the DER between colons (":MIIB...:").
	CertificateRFC9440 CertificateFormat = "rfc9440"
)

// maxCertHeader bounds the header value the guard reads (a certificate is
// rarely above 4 KiB; its URL-encoded PEM is about 1.5 times that).
const maxCertHeader = 16 << 10

// certHeader is the header of WithClientCertificateHeader.
type certHeader struct {
	name    string
	format  CertificateFormat
	trusted []netip.Prefix
}

// WithClientCertificateHeader takes the client certificate of
// certificate-bound tokens (cnf.x5t#S256, RFC 8705 §3) from the header
// name, written in format by a TLS-terminating proxy, for requests whose
// immediate peer (r.RemoteAddr) is in trusted. From any other peer the
// header is ignored, and the TLS peer certificate counts as without this
// option; from a trusted peer the header is the only source, so a request
// that the proxy forwarded without a certificate presents none. The proxy
// must remove the header from what its clients send (Envoy: SANITIZE_SET;
// nginx: proxy_set_header overwrites it); the gateway removes it from
// untrusted requests before proxying.
func WithClientCertificateHeader(name string, format CertificateFormat, trusted []netip.Prefix) Option {
	return optionFunc(func(g *Guard) error {
		if name == "" || http.CanonicalHeaderKey(name) == "Authorization" || strings.ContainsAny(name, " :\r\n") {
			return fmt.Errorf("guard: %q is not a header for the client certificate", name)
		}
		switch format {
		case CertificateXFCC, CertificateEscapedPEM, CertificateRFC9440:
		default:
			return fmt.Errorf("guard: client certificate format %q: use %s, %s or %s", format, CertificateXFCC, CertificateEscapedPEM, CertificateRFC9440)
		}
		if len(trusted) == 0 {
			return errors.New("guard: WithClientCertificateHeader needs the addresses of the trusted proxies (a header from anyone would let any client name any certificate)")
		}
		ps := make([]netip.Prefix, 0, len(trusted))
		for _, p := range trusted {
			if !p.IsValid() {
				return fmt.Errorf("guard: invalid trusted proxy prefix %v", p)
			}
			ps = append(ps, p.Masked())
		}
		g.clientCert = &certHeader{name: http.CanonicalHeaderKey(name), format: format, trusted: ps}
		return nil
	})
}

// thumbprint returns the x5t#S256 of the client certificate of r, or ""
// when it presents none. A header from a trusted proxy that cannot be
// read is refused. h may be nil: the TLS peer only.
func (h *certHeader) thumbprint(r *http.Request) (string, *Refusal) {
	if h != nil && h.trusts(r.RemoteAddr) {
		vals := r.Header[h.name]
		switch len(vals) {
		case 0:
			return "", nil
		case 1:
			t, err := parseCertificateHeader(h.format, vals[0])
			if err != nil {
				return "", &Refusal{Reason: ReasonInvalidToken, Detail: "the client certificate the proxy forwarded cannot be read", Err: err}
			}
			return t, nil
		default:
			return "", &Refusal{Reason: ReasonInvalidToken, Detail: "the proxy forwarded more than one " + h.name + " header"}
		}
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return token.CertificateThumbprint(r.TLS.PeerCertificates[0].Raw), nil
	}
	return "", nil
}

// trusts reports whether the peer remote is a trusted proxy.
func (h *certHeader) trusts(remote string) bool {
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(remote); err != nil {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range h.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseCertificateHeader reads the client certificate of a header value
// in format and returns its x5t#S256 thumbprint (the base64url SHA-256 of
// its DER, RFC 8705 §3.1). The value is untrusted input: anything it does
// not hold exactly as the format says is an error.
func parseCertificateHeader(format CertificateFormat, v string) (string, error) {
	if len(v) > maxCertHeader {
		return "", fmt.Errorf("guard: client certificate header longer than %d bytes", maxCertHeader)
	}
	switch format {
	case CertificateEscapedPEM:
		return escapedPEM(v)
	case CertificateRFC9440:
		b64, ok := strings.CutPrefix(strings.TrimSpace(v), ":")
		if b64, ok2 := strings.CutSuffix(b64, ":"); ok && ok2 {
			der, err := base64.StdEncoding.Strict().DecodeString(b64)
			if err != nil || len(der) == 0 {
				return "", errors.New("guard: Client-Cert is not base64 between colons")
			}
			return token.CertificateThumbprint(der), nil
		}
		return "", errors.New("guard: Client-Cert is not base64 between colons")
	case CertificateXFCC:
		return xfcc(v)
	}
	return "", fmt.Errorf("guard: unknown client certificate format %q", format)
}

// escapedPEM reads a URL-encoded PEM certificate. Unescaped with
// PathUnescape: a '+' of the base64 stays a '+'.
func escapedPEM(v string) (string, error) {
	s, err := url.PathUnescape(strings.TrimSpace(v))
	if err != nil {
		return "", errors.New("guard: the client certificate is not URL-encoded")
	}
	b, _ := pem.Decode([]byte(s))
	if b == nil || b.Type != "CERTIFICATE" || len(b.Bytes) == 0 {
		return "", errors.New("guard: the client certificate is not a PEM CERTIFICATE")
	}
	return token.CertificateThumbprint(b.Bytes), nil
}

// xfcc reads the last element of an X-Forwarded-Client-Cert value: its
// Cert, its Hash, or both when they agree.
func xfcc(v string) (string, error) {
	elems, err := splitQuoted(v, ',')
	if err != nil {
		return "", err
	}
	pairs, err := splitQuoted(elems[len(elems)-1], ';')
	if err != nil {
		return "", err
	}
	var fromCert, fromHash string
	for _, p := range pairs {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok {
			return "", errors.New("guard: X-Forwarded-Client-Cert has a pair without '='")
		}
		val = unquote(val)
		switch {
		case strings.EqualFold(k, "Cert"):
			if fromCert != "" {
				return "", errors.New("guard: X-Forwarded-Client-Cert has two Cert keys")
			}
			if fromCert, err = escapedPEM(val); err != nil {
				return "", err
			}
		case strings.EqualFold(k, "Hash"):
			sum, err := hex.DecodeString(val)
			if err != nil || len(sum) != sha256.Size || fromHash != "" {
				return "", errors.New("guard: X-Forwarded-Client-Cert Hash is not one hex SHA-256")
			}
			fromHash = base64.RawURLEncoding.EncodeToString(sum)
		}
	}
	switch {
	case fromCert != "" && fromHash != "" && fromCert != fromHash:
		return "", errors.New("guard: X-Forwarded-Client-Cert Cert and Hash name different certificates")
	case fromCert != "":
		return fromCert, nil
	case fromHash != "":
		return fromHash, nil
	}
	return "", errors.New("guard: X-Forwarded-Client-Cert has neither Cert nor Hash")
}

// splitQuoted splits s at sep outside double-quoted strings (a backslash
// escapes the next character inside them). An unterminated quote is an
// error.
func splitQuoted(s string, sep byte) ([]string, error) {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if quoted {
		return nil, errors.New("guard: X-Forwarded-Client-Cert has an unterminated quote")
	}
	return append(out, s[start:]), nil
}

// unquote removes the double quotes around v, and the backslashes of its
// escapes; v without quotes is returned as it is.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
