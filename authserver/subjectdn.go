package authserver

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Subject distinguished names for tls_client_auth (RFC 8705 §2.1.2): the
// registered tls_client_auth_subject_dn is a string of RFC 4514, the
// certificate's subject a DER RDNSequence. Both become a normalized form
// that compares as a string: RDNs in the order of RFC 4514 (the last RDN
// of the sequence first), attribute types as dotted OIDs, the attributes
// of a multi-valued RDN sorted, values with the insignificant spaces of
// RFC 4518 §2.6.1 removed and compared without regard to case (RFC 4517
// caseIgnoreMatch, which the naming attributes use).

// maxDNLength bounds a distinguished name string.
const maxDNLength = 4096

// attributeOIDs names the attribute types of RFC 4514 §3 and the few more
// that certificates carry.
var attributeOIDs = map[string]string{
	"CN": "2.5.4.3", "SERIALNUMBER": "2.5.4.5", "C": "2.5.4.6", "L": "2.5.4.7", "ST": "2.5.4.8",
	"STREET": "2.5.4.9", "O": "2.5.4.10", "OU": "2.5.4.11", "POSTALCODE": "2.5.4.17",
	"DC": "0.9.2342.19200300.100.1.25", "UID": "0.9.2342.19200300.100.1.1",
	"EMAILADDRESS": "1.2.840.113549.1.9.1", "E": "1.2.840.113549.1.9.1",
}

// normalizeDN parses a distinguished name in the string form of RFC 4514
// and returns its normalized form (see above).
func normalizeDN(s string) (string, error) {
	if len(s) > maxDNLength {
		return "", errors.New("the distinguished name is too long")
	}
	if strings.TrimSpace(s) == "" {
		return "", errors.New("the distinguished name is empty")
	}
	var rdns [][]string
	var rdn []string
	var attr strings.Builder // the current type=value, unescaped
	var typ string
	inValue := false
	flush := func() error {
		if !inValue {
			return fmt.Errorf("an attribute without '=' in %q", s)
		}
		a, err := normalizeAttr(typ, attr.String())
		if err != nil {
			return err
		}
		rdn = append(rdn, a)
		attr.Reset()
		inValue = false
		return nil
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\':
			if !inValue || i+1 >= len(s) {
				return "", errors.New("a dangling escape in the distinguished name")
			}
			next := s[i+1]
			if isHex(next) {
				if i+2 >= len(s) || !isHex(s[i+2]) {
					return "", errors.New("a bad hex escape in the distinguished name")
				}
				b, _ := hex.DecodeString(s[i+1 : i+3])
				attr.WriteByte(b[0])
				i += 2
			} else if strings.IndexByte(` "#+,;<=>\\`, next) >= 0 { // RFC 4514 §3: special
				attr.WriteByte(next)
				i++
			} else {
				return "", errors.New("a bad escape in the distinguished name")
			}
		case ch == '=' && !inValue:
			typ = attr.String()
			attr.Reset()
			inValue = true
			if rest := strings.TrimLeft(s[i+1:], " "); strings.HasPrefix(rest, "#") {
				return "", errors.New("hex-encoded attribute values are not supported in the distinguished name")
			}
		case ch == '+' && inValue:
			if err := flush(); err != nil {
				return "", err
			}
		case (ch == ',' || ch == ';') && inValue:
			if err := flush(); err != nil {
				return "", err
			}
			rdns = append(rdns, rdn)
			rdn = nil
		default:
			attr.WriteByte(ch)
		}
	}
	if err := flush(); err != nil {
		return "", err
	}
	rdns = append(rdns, rdn)
	return joinRDNs(rdns), nil
}

// normalizeRawSubject returns the normalized form of a certificate's DER
// subject (x509.Certificate.RawSubject).
func normalizeRawSubject(der []byte) (string, error) {
	var seq pkix.RDNSequence
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) > 0 {
		return "", errors.New("the certificate's subject does not parse")
	}
	var rdns [][]string
	for i := len(seq) - 1; i >= 0; i-- { // RFC 4514 §2.1: the last RDN first
		var rdn []string
		for _, atv := range seq[i] {
			v, ok := atv.Value.(string)
			if !ok {
				return "", errors.New("the certificate's subject has a value that is not a string")
			}
			a, err := normalizeAttr(atv.Type.String(), v)
			if err != nil {
				return "", err
			}
			rdn = append(rdn, a)
		}
		rdns = append(rdns, rdn)
	}
	if len(rdns) == 0 {
		return "", errors.New("the certificate's subject is empty")
	}
	return joinRDNs(rdns), nil
}

// normalizeAttr is one attribute, "OID=value".
func normalizeAttr(typ, value string) (string, error) {
	t := strings.ToUpper(strings.TrimSpace(typ))
	if oid, ok := attributeOIDs[t]; ok {
		t = oid
	} else if o, ok := strings.CutPrefix(t, "OID."); ok {
		t = o
	}
	if !isDottedOID(t) {
		return "", fmt.Errorf("unknown attribute type %q in the distinguished name", typ)
	}
	v := dnEscaper.Replace(strings.ToLower(strings.Join(strings.Fields(value), " ")))
	if strings.HasPrefix(v, "#") {
		v = `\` + v
	}
	return t + "=" + v, nil
}

// dnEscaper escapes the separators in a normalized value, so that a value
// with '+' or ',' cannot pass for two attributes (and a leading '#' is
// escaped too, see normalizeAttr).
var dnEscaper = strings.NewReplacer(`\`, `\\`, "+", `\+`, ",", `\,`, ";", `\;`)

func joinRDNs(rdns [][]string) string {
	parts := make([]string, len(rdns))
	for i, rdn := range rdns {
		slices.Sort(rdn)
		parts[i] = strings.Join(rdn, "+")
	}
	return strings.Join(parts, ",")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDottedOID(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return strings.Contains(s, ".")
}
