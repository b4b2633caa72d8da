package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// The method check: methods are case-sensitive (RFC 9110 §9.1), and the
// route mux matches them exactly, so "delete" would pass a DELETE route by
// and reach a route without methods, whose rules are weaker, while an
// upstream that reads methods without case served it as a DELETE. The
// gateway serves only the methods of allowed_methods, spelled as listed,
// and answers any other with 501 (RFC 9110 §15.6.2: a method the server
// does not implement) before routing.
//
// The default is the methods of RFC 9110 and PATCH (RFC 5789) less two:
// CONNECT, which asks the gateway to open a tunnel (a reverse proxy does
// not; net/http routes it by host, not path), and TRACE, which echoes the
// request, headers and cookies included, back to the caller (cross-site
// tracing). A file lists them to serve them anyway.
var defaultMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodDelete, http.MethodOptions, http.MethodPatch,
}

// methodSet is the set of methods the gateway serves.
type methodSet map[string]bool

func newMethodSet(list []string) methodSet {
	if len(list) == 0 {
		list = defaultMethods
	}
	s := methodSet{}
	for _, m := range list {
		s[m] = true
	}
	return s
}

// allowed reports whether m is served, compared with case.
func (s methodSet) allowed(m string) bool { return s[m] }

// validateMethods checks allowed_methods: tokens in capitals (a
// lowercase entry would bring the bypass back for routes that name the
// method in capitals).
func validateMethods(list []string) error {
	for _, m := range list {
		// A method is a token (RFC 9110 §9.1), as a field name is (§5.1).
		if !httpguts.ValidHeaderFieldName(m) || strings.ToUpper(m) != m {
			return fmt.Errorf("%q is not an HTTP method in capitals (methods are case-sensitive; routes match them in capitals)", m)
		}
	}
	return nil
}

// refuseMethod answers a method the gateway does not serve.
func refuseMethod(w http.ResponseWriter) {
	refuse(w, http.StatusNotImplemented, TypeMethodNotImplemented, reasonMethod,
		"the gateway does not serve this method; methods are case-sensitive (DELETE, not delete)")
}
