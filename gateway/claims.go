package gateway

import (
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse/guard"
)

// The claims of a verified token as header values, for forward_claims and
// the rate limits keyed by claim:NAME.

// claimString returns a claim of the verified token as a header value:
// strings as they are, lists joined by ",", numbers and booleans in JSON.
func claimString(p *guard.Principal, name string) string {
	switch name {
	case "sub":
		return p.Subject
	case "client_id":
		return p.ClientID
	case "org":
		return p.Org
	case "email":
		return p.Email
	case "jti":
		return p.TokenID
	case "scope":
		return strings.Join(p.Scopes, " ")
	case "roles":
		return strings.Join(p.Roles, ",")
	case "groups":
		return strings.Join(p.Groups, ",")
	}
	if p.Claims == nil {
		return ""
	}
	switch name {
	case "iss":
		return p.Claims.Issuer
	case "name":
		return p.Claims.Name
	}
	var v any
	if ok, err := p.Claims.Custom(name, &v); !ok || err != nil {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ",")
	}
	return ""
}
