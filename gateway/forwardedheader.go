package gateway

import (
	"errors"
	"fmt"
	"strings"
)

// The Forwarded header (RFC 7239 §4): elements separated by commas, each
// of name=value pairs separated by semicolons, a value a token or a
// quoted string. Proxies append their element, so the header holds the
// client's own elements (anything it sent) first and the trusted proxies'
// last; which ones count is for the reader to decide, walking from the
// right (clientip.go, forwardedurl.go).

// errForwarded is the error of a Forwarded header that does not parse.
var errForwarded = errors.New("the Forwarded header does not parse")

// forwardedElements parses the lines of a Forwarded header into its
// elements, in order: each a map of the pairs' names, in lower case, to
// their values, unquoted. A comma or semicolon inside a quoted string
// belongs to the value. A pair without "=", an empty name, a name given
// twice in one element or an unterminated quoted string fails the whole
// header: from a trusted proxy, a header that cannot be read must not be
// half read.
func forwardedElements(lines []string) ([]map[string]string, error) {
	var elems []map[string]string
	for _, line := range lines {
		elem := map[string]string{}
		var name, value strings.Builder
		inValue, quoted, escaped, wasQuoted := false, false, false, false
		endPair := func() error {
			n := strings.ToLower(strings.TrimSpace(name.String()))
			v := value.String()
			if !wasQuoted {
				v = strings.TrimSpace(v)
			}
			name.Reset()
			value.Reset()
			if !inValue {
				if n == "" {
					return nil // an empty pair, as in "a=1;;b=2" or an empty element
				}
				return fmt.Errorf("%w: a pair without '='", errForwarded)
			}
			inValue, wasQuoted = false, false
			if n == "" {
				return fmt.Errorf("%w: a pair without a name", errForwarded)
			}
			if _, dup := elem[n]; dup {
				return fmt.Errorf("%w: a parameter given twice in one element", errForwarded)
			}
			elem[n] = v
			return nil
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case quoted && escaped:
				value.WriteByte(c)
				escaped = false
			case quoted && c == '\\':
				escaped = true
			case quoted && c == '"':
				quoted = false
			case quoted:
				value.WriteByte(c)
			case inValue && c == '"' && strings.TrimSpace(value.String()) == "" && !wasQuoted:
				value.Reset()
				quoted, wasQuoted = true, true
			case c == '"':
				return nil, fmt.Errorf("%w: a quote inside a value", errForwarded)
			case c == ';' || c == ',':
				if err := endPair(); err != nil {
					return nil, err
				}
				if c == ',' {
					if len(elem) > 0 {
						elems = append(elems, elem)
					}
					elem = map[string]string{}
				}
			case c == '=' && !inValue:
				inValue = true
			case inValue:
				if wasQuoted && c != ' ' && c != '\t' {
					return nil, fmt.Errorf("%w: text after a quoted value", errForwarded)
				}
				if !wasQuoted {
					value.WriteByte(c)
				}
			default:
				name.WriteByte(c)
			}
		}
		if quoted {
			return nil, fmt.Errorf("%w: an unterminated quoted string", errForwarded)
		}
		if err := endPair(); err != nil {
			return nil, err
		}
		if len(elem) > 0 {
			elems = append(elems, elem)
		}
	}
	return elems, nil
}

// forAddrs are the for= values of elems, in order ("" for an element
// without one, which then reads as garbage).
func forAddrs(elems []map[string]string) []string {
	fors := make([]string, len(elems))
	for i, e := range elems {
		fors[i] = e["for"]
	}
	return fors
}
