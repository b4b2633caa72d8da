package authserver

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// RFC 6749 §5.2 and RFC 8693 §2.2.2 error codes.
const (
	errInvalidRequest       = "invalid_request"
	errInvalidClient        = "invalid_client"
	errInvalidGrant         = "invalid_grant"
	errUnauthorizedClient   = "unauthorized_client"
	errUnsupportedGrantType = "unsupported_grant_type"
	errInvalidScope         = "invalid_scope"
	errInvalidTarget        = "invalid_target"
	errServerError          = "server_error"
	errAccessDenied         = "access_denied"
	errUnsupportedResponse  = "unsupported_response_type"
	errLoginRequired        = "login_required"
	errUnsupportedTokenType = "unsupported_token_type"
	errTemporarilyUnavail   = "temporarily_unavailable"
)

// oauthError is an RFC 6749 error answer. Description is safe to show: it
// never holds a secret, a token or a stack trace; it is written through
// wireText (error_text.go), which keeps it to the characters RFC 6749
// §5.2 allows.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
	// retryAfter, when set, is the Retry-After of a 429 or 503.
	retryAfter time.Duration
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oerr(status int, code, desc string) *oauthError {
	return &oauthError{Code: code, Description: desc, status: status}
}

func badRequest(code, desc string) *oauthError { return oerr(http.StatusBadRequest, code, desc) }

// storeUnavailable reports whether err says that the store could not be
// reached (identity.ErrUnavailable: a refused or dropped connection, a
// server shutting down, a timeout), which the endpoints answer with 503
// temporarily_unavailable rather than 500 server_error.
func storeUnavailable(err error) bool { return errors.Is(err, identity.ErrUnavailable) }

// retryAfter is the Retry-After (seconds) of a 503 (RFC 9110 §10.2.3).
const retryAfter = "5"

// retryAfterOf is the Retry-After of e: its own delay in whole seconds
// (rounded up), else retryAfter.
func retryAfterOf(e *oauthError) string {
	if e.retryAfter > 0 {
		return strconv.Itoa(int((e.retryAfter + time.Second - 1) / time.Second))
	}
	return retryAfter
}

// wireDescription is what a client learns of a 5xx: never its cause,
// which stays in the log.
func wireDescription(e *oauthError) string {
	if e.status == http.StatusServiceUnavailable {
		return "the service is temporarily unavailable; try again later"
	}
	return "internal error; try again later"
}

// writeJSON writes v with status and the no-store headers of RFC 6749 §5.1.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeOAuthError answers e. A failed client authentication (401) keeps
// its 401 and gets a WWW-Authenticate challenge for the Basic scheme only
// when the client used Basic (RFC 6749 §5.2); a client that authenticated
// in the body, with an assertion or not at all gets 400, the status of
// RFC 6749 §5.2 errors, since a 401 must carry a challenge (RFC 9110
// §15.5.2) and there is no scheme to challenge it with.
func writeOAuthError(w http.ResponseWriter, r *http.Request, e *oauthError) {
	status := e.status
	if status == http.StatusUnauthorized {
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if strings.EqualFold(scheme, "Basic") {
			w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
		} else {
			status = http.StatusBadRequest
		}
	}
	if e.retryAfter > 0 || (status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "") {
		w.Header().Set("Retry-After", retryAfterOf(e))
	}
	writeJSON(w, status, &oauthError{Code: wireText(e.Code), Description: wireText(e.Description)})
}
