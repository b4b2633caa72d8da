package gateway

import (
	"net/http"
	"strconv"
	"time"
)

// The security headers the gateway sets on every answer, replacing the
// upstream's (security_headers).

// buildHeaders resolves the security headers.
func (st *state) buildHeaders(s SecurityHeaders) {
	add := func(name, v, def string) {
		switch v {
		case "":
			v = def
		case "-":
			return
		}
		st.headers = append(st.headers, secHeader{name, oneValue(v)})
	}
	add("X-Content-Type-Options", s.ContentTypeOptions, "nosniff")
	add("X-Frame-Options", s.FrameOptions, "DENY")
	add("Referrer-Policy", s.ReferrerPolicy, "no-referrer")
	for k, v := range s.Extra {
		st.headers = append(st.headers, secHeader{http.CanonicalHeaderKey(k), oneValue(v)})
	}
	if s.HSTS == nil || *s.HSTS {
		age := orDefault(s.HSTSMaxAge, DefaultHSTSMaxAge)
		v := "max-age=" + strconv.FormatInt(int64(age/time.Second), 10)
		if s.HSTSIncludeSubdomains {
			v += "; includeSubDomains"
		}
		st.hsts = oneValue(v)
	}
}

// secHeader is a field the gateway sets on every response.
type secHeader struct {
	name  string
	value []string // oneValue
}

// oneValue is the value slice of a field that every response shares: as
// long as its capacity, so that adding to the field copies it, and never
// written to (net/http and httputil only read or replace values).
func oneValue(v string) []string { return []string{v}[:1:1] }

// secHeaders sets the security headers on a response, without allocating.
func (st *state) secHeaders(h http.Header, tls bool) {
	for _, f := range st.headers {
		h[f.name] = f.value
	}
	if tls && st.hsts != nil {
		h["Strict-Transport-Security"] = st.hsts
	}
}

// dropSecHeaders removes the upstream's values of the headers the gateway
// sets, so that the gateway's are the only ones.
func (st *state) dropSecHeaders(h http.Header) {
	for _, f := range st.headers {
		delete(h, f.name)
	}
	if st.hsts != nil {
		delete(h, "Strict-Transport-Security")
	}
}
