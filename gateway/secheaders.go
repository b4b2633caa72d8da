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
		st.headers = append(st.headers, [2]string{name, v})
	}
	add("X-Content-Type-Options", s.ContentTypeOptions, "nosniff")
	add("X-Frame-Options", s.FrameOptions, "DENY")
	add("Referrer-Policy", s.ReferrerPolicy, "no-referrer")
	for k, v := range s.Extra {
		st.headers = append(st.headers, [2]string{http.CanonicalHeaderKey(k), v})
	}
	if s.HSTS == nil || *s.HSTS {
		age := orDefault(s.HSTSMaxAge, DefaultHSTSMaxAge)
		st.hsts = "max-age=" + strconv.FormatInt(int64(age/time.Second), 10)
		if s.HSTSIncludeSubdomains {
			st.hsts += "; includeSubDomains"
		}
	}
}

// secHeaders sets the security headers on a response.
func (st *state) secHeaders(h http.Header, tls bool) {
	for _, kv := range st.headers {
		h[kv[0]] = []string{kv[1]}
	}
	if tls && st.hsts != "" {
		h["Strict-Transport-Security"] = []string{st.hsts}
	}
}

// dropSecHeaders removes the upstream's values of the headers the gateway
// sets, so that the gateway's are the only ones.
func (st *state) dropSecHeaders(h http.Header) {
	for _, kv := range st.headers {
		delete(h, kv[0])
	}
	if st.hsts != "" {
		delete(h, "Strict-Transport-Security")
	}
}
