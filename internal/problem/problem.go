// Package problem writes the error answers of gatehouse: RFC 9457 problem
// details, media type application/problem+json. Every 4xx and 5xx that a
// gatehouse component writes goes through [Write], so that the body has one
// shape and a stable type URI that clients branch on.
//
//	problem.Write(w, &problem.Problem{
//		Type:   problem.TypeForbidden,
//		Status: http.StatusForbidden,
//		Detail: "the admin role is required",
//	})
//
// A problem never carries a token, a secret or a stack trace. Callers put
// only text meant for the client in it; Write also cuts the detail at its
// first line break and blanks anything shaped like a JWT, so that an error
// message that quotes a token or carries a trace cannot reach the client.
package problem

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ContentType is the media type of a problem (RFC 9457 §3).
const ContentType = "application/problem+json"

// Stable problem types. Clients may branch on them; they never change
// meaning. The URIs identify; they need not resolve.
const (
	base = "https://gatehouse.dev/problems/"
	// TypeAuthenticationRequired: the request carries no credentials (401).
	TypeAuthenticationRequired = base + "authentication-required"
	// TypeInvalidToken: the access token is expired, revoked, malformed or
	// otherwise refused (401, RFC 6750 invalid_token).
	TypeInvalidToken = base + "invalid-token"
	// TypeInvalidRequest: the credentials are sent in an ambiguous way,
	// such as two Authorization headers (400, RFC 6750 invalid_request).
	TypeInvalidRequest = base + "invalid-request"
	// TypeInsufficientScope: the token lacks a scope the request needs
	// (403, RFC 6750 insufficient_scope).
	TypeInsufficientScope = base + "insufficient-scope"
	// TypeForbidden: the caller is known but not allowed (403).
	TypeForbidden = base + "forbidden"
	// TypeNotFound: no such resource, or none the caller may know of (404).
	TypeNotFound = base + "not-found"
	// TypeMethodNotAllowed: the resource exists, the method does not (405).
	TypeMethodNotAllowed = base + "method-not-allowed"
	// TypeInternal: the server failed; details are in its logs only (500).
	TypeInternal = base + "internal"
	// TypeUnavailable: a dependency needed to answer (key source,
	// revocation list) could not be reached; try again later (503).
	TypeUnavailable = base + "unavailable"
)

// Problem is a problem details object (RFC 9457 §3.1). The zero values of
// Type and Title are filled in by [Write]; Status is required.
type Problem struct {
	// Type is a URI that identifies the kind of problem; empty means
	// "about:blank" (RFC 9457 §4.2.1).
	Type string
	// Title is a short summary of the kind of problem, the same for every
	// occurrence. Empty: the title of the type, or the status text.
	Title string
	// Status is the HTTP status code.
	Status int
	// Detail explains this occurrence, for the client. One line; never a
	// token, secret or stack trace.
	Detail string
	// Instance is a URI reference for this occurrence (optional).
	Instance string
	// Extensions are additional members (RFC 9457 §3.2), such as the
	// RFC 6750 "error" code. A name of a standard member is ignored.
	Extensions map[string]any
}

// titles are the fixed titles of the gatehouse types.
var titles = map[string]string{
	TypeAuthenticationRequired: "Authentication required",
	TypeInvalidToken:           "Invalid access token",
	TypeInvalidRequest:         "Invalid request",
	TypeInsufficientScope:      "Insufficient scope",
	TypeForbidden:              "Forbidden",
	TypeNotFound:               "Not found",
	TypeMethodNotAllowed:       "Method not allowed",
	TypeInternal:               "Internal server error",
	TypeUnavailable:            "Service unavailable",
}

var standard = map[string]bool{"type": true, "title": true, "status": true, "detail": true, "instance": true}

// Write writes p as the whole response: Content-Type
// application/problem+json, the status, and the JSON body. Headers set on w
// before (WWW-Authenticate, Retry-After) are kept.
func Write(w http.ResponseWriter, p *Problem) {
	body, status := encode(p)
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	w.Write(body)
}

// MarshalJSON encodes the problem the way [Write] sends it.
func (p *Problem) MarshalJSON() ([]byte, error) {
	body, _ := encode(p)
	return body, nil
}

// encode builds the body; it cannot fail: an extension that does not
// encode is left out.
func encode(p *Problem) ([]byte, int) {
	status := p.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	typ := p.Type
	if typ == "" {
		typ = "about:blank"
	}
	title := p.Title
	if title == "" {
		title = titles[typ]
	}
	if title == "" {
		title = http.StatusText(status)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":`)
	writeString(&buf, typ)
	buf.WriteString(`,"title":`)
	writeString(&buf, clean(title))
	buf.WriteString(`,"status":`)
	buf.WriteString(strconv.Itoa(status))
	if d := clean(p.Detail); d != "" {
		buf.WriteString(`,"detail":`)
		writeString(&buf, d)
	}
	if p.Instance != "" {
		buf.WriteString(`,"instance":`)
		writeString(&buf, clean(p.Instance))
	}
	for _, name := range slices.Sorted(maps.Keys(p.Extensions)) {
		if standard[name] {
			continue
		}
		v := p.Extensions[name]
		if s, ok := v.(string); ok {
			v = clean(s)
		}
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		buf.WriteByte(',')
		writeString(&buf, name)
		buf.WriteByte(':')
		buf.Write(b)
	}
	buf.WriteByte('}')
	return buf.Bytes(), status
}

func writeString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s) // a string always encodes
	buf.Write(b)
}

// jwtShape matches a compact JWS or JWE: base64url segments starting with
// an encoded JSON object ("eyJ"), joined by dots.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)+`)

// clean keeps the first line of s and blanks anything shaped like a JWT.
func clean(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if strings.Contains(s, "eyJ") {
		s = jwtShape.ReplaceAllString(s, "[redacted]")
	}
	return s
}
