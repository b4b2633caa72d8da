package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
)

// Claims is the claim set of a gatehouse token: the registered claims of
// RFC 7519 §4.1, the access token claims of RFC 9068 §2.2, the OpenID Connect
// claims gatehouse issues, the RFC 8693 actor, and custom claims.
//
// Claims returned by a [Verifier] are shared with its cache and must be
// treated as read-only.
type Claims struct {
	Issuer    string      `json:"iss,omitempty"`
	Subject   string      `json:"sub,omitempty"`
	Audience  Audience    `json:"aud,omitempty"`
	ExpiresAt NumericDate `json:"exp,omitempty"`
	NotBefore NumericDate `json:"nbf,omitempty"`
	IssuedAt  NumericDate `json:"iat,omitempty"`
	ID        string      `json:"jti,omitempty"`

	// ClientID is the OAuth client the token was issued to (RFC 9068 §2.2).
	ClientID string `json:"client_id,omitempty"`
	// Scope is the space-separated scope string (RFC 9068 §2.2.3, RFC 8693 §4.2).
	Scope string `json:"scope,omitempty"`
	// ScopeList is the "scp" array some issuers send instead of scope.
	ScopeList StringList `json:"scp,omitempty"`

	Email  string   `json:"email,omitempty"`
	Name   string   `json:"name,omitempty"`
	Roles  []string `json:"roles,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// Org is the organization (tenant) of the subject.
	Org string `json:"org,omitempty"`

	// Actor is the acting party of a delegated token (RFC 8693 §4.1).
	Actor *Actor `json:"act,omitempty"`

	// SessionID is the login session the token was issued in (OpenID
	// Connect Front-Channel Logout 1.0 §3, "sid"); ending that session
	// (RP-initiated logout) revokes every token that carries it.
	SessionID string `json:"sid,omitempty"`

	// Confirmation binds the token to a key its presenter must prove it
	// holds (RFC 7800 "cnf"): a TLS client certificate (RFC 8705 §3) or a
	// DPoP key (RFC 9449 §6). Nil for a bearer token.
	Confirmation *Confirmation `json:"cnf,omitempty"`

	// ID token claims (OpenID Connect Core §2).
	AuthTime NumericDate `json:"auth_time,omitempty"`
	Nonce    string      `json:"nonce,omitempty"`
	AtHash   string      `json:"at_hash,omitempty"`

	// Extra holds custom claims to issue. Names must not be those of the
	// fields above. Verified claims leave it nil; read custom claims with
	// [Claims.Custom] or [Claims.Raw].
	Extra map[string]any `json:"-"`

	raw json.RawMessage
}

// Actor is the "act" claim of RFC 8693 §4.1: who acts on behalf of the
// subject, nested for delegation chains (the outermost is the current actor).
type Actor struct {
	Subject  string `json:"sub,omitempty"`
	Issuer   string `json:"iss,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Actor    *Actor `json:"act,omitempty"`
}

// Scopes returns the scopes of scope and scp, without duplicates.
func (c *Claims) Scopes() []string {
	out := strings.Fields(c.Scope)
	for _, s := range c.ScopeList {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// HasScope reports whether the token grants scope s.
func (c *Claims) HasScope(s string) bool {
	for f := range strings.FieldsSeq(c.Scope) {
		if f == s {
			return true
		}
	}
	return slices.Contains(c.ScopeList, s)
}

// HasRole reports whether roles holds r.
func (c *Claims) HasRole(r string) bool { return slices.Contains(c.Roles, r) }

// InGroup reports whether groups holds g.
func (c *Claims) InGroup(g string) bool { return slices.Contains(c.Groups, g) }

// Raw returns the JSON payload the claims were decoded from (nil for claims
// built in code). It holds custom claims too.
func (c *Claims) Raw() json.RawMessage { return c.raw }

// Custom decodes the custom claim name into dst. It reports false when the
// claim is absent.
func (c *Claims) Custom(name string, dst any) (bool, error) {
	if v, ok := c.Extra[name]; ok {
		b, err := json.Marshal(v)
		if err != nil {
			return true, fmt.Errorf("token: claim %q: %w", name, err)
		}
		return true, json.Unmarshal(b, dst)
	}
	if c.raw == nil {
		return false, nil
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(c.raw, &all); err != nil {
		return false, fmt.Errorf("token: claims: %w", err)
	}
	v, ok := all[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return true, fmt.Errorf("token: claim %q: %w", name, err)
	}
	return true, nil
}

// registered lists the claim names of the Claims fields, which custom
// claims (Extra) must not use.
var registered = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"client_id": true, "scope": true, "scp": true, "email": true, "name": true, "roles": true,
	"groups": true, "org": true, "act": true, "sid": true, "cnf": true, "auth_time": true, "nonce": true, "at_hash": true,
}

type claimsAlias Claims

// MarshalJSON encodes the claims with the custom claims of Extra.
func (c Claims) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(claimsAlias(c))
	if err != nil {
		return nil, err
	}
	if len(c.Extra) == 0 {
		return base, nil
	}
	names := make([]string, 0, len(c.Extra))
	for n := range c.Extra {
		if registered[n] {
			return nil, fmt.Errorf("token: custom claim %q has the name of a standard claim: set the field instead", n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	buf.Write(base[:len(base)-1])
	for i, n := range names {
		if i > 0 || len(base) > 2 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(n)
		v, err := json.Marshal(c.Extra[n])
		if err != nil {
			return nil, fmt.Errorf("token: custom claim %q: %w", n, err)
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes the claims; custom claims stay in [Claims.Raw].
func (c *Claims) UnmarshalJSON(data []byte) error {
	var a claimsAlias
	if err := json.Unmarshal(data, &a); err != nil {
		return err
	}
	*c = Claims(a)
	c.raw = slices.Clone(data)
	return nil
}

// NumericDate is a JWT time: seconds since the Unix epoch (RFC 7519 §2).
// Zero means absent. Fractions are truncated on decode; a string, a negative
// number or a number beyond year 9999 is refused.
type NumericDate int64

// At returns the NumericDate of t.
func At(t time.Time) NumericDate { return NumericDate(t.Unix()) }

// Time returns the date as a time.Time (the zero Time when absent).
func (d NumericDate) Time() time.Time {
	if d == 0 {
		return time.Time{}
	}
	return time.Unix(int64(d), 0)
}

const maxNumericDate = 253402300799 // 9999-12-31T23:59:59Z

var errNumericDate = errors.New("a NumericDate must be a non-negative number of seconds")

// UnmarshalJSON accepts a JSON number only.
func (d *NumericDate) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return errNumericDate
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		if n < 0 || n > maxNumericDate {
			return errNumericDate
		}
		*d = NumericDate(n)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return errNumericDate
	}
	*d = NumericDate(int64(f))
	return nil
}

// Audience is the "aud" claim: one string or an array of strings on the
// wire (RFC 7519 §4.1.3); it encodes a single audience as a string.
type Audience []string

// Contains reports whether aud holds s.
func (a Audience) Contains(s string) bool { return slices.Contains(a, s) }

// MarshalJSON encodes one audience as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON accepts a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	l, err := stringOrList(b)
	*a = Audience(l)
	return err
}

// StringList is a claim sent as an array of strings or as one
// space-separated string (as "scp" is by some issuers).
type StringList []string

// UnmarshalJSON accepts an array of strings or a space-separated string.
func (l *StringList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = strings.Fields(s)
		return nil
	}
	var v []string
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("must be a string or an array of strings")
	}
	*l = v
	return nil
}

func stringOrList(b []byte) ([]string, error) {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := jsonv2.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var l []string
	if err := jsonv2.Unmarshal(b, &l); err != nil {
		return nil, errors.New("must be a string or an array of strings")
	}
	return l, nil
}
