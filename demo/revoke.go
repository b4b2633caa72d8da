package demo

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
)

// publishRevocations wraps the auth server's handler so that an access
// token revoked at /oauth2/revoke (RFC 7009) also goes onto the revocation
// list that every guard and the gateway check: logout is then refused
// everywhere within a second (at once in memory; through Redis pub/sub with
// --redis). It stands in for the auth server publishing revocations itself.
func publishRevocations(auth *authserver.Server, list *revocation.List, log *slog.Logger) (http.Handler, error) {
	v, err := token.NewVerifier(auth, auth.Issuer(), "", token.WithAnyAudience(), token.WithCacheSize(0))
	if err != nil {
		return nil, fmt.Errorf("demo: revocation bridge: %w", err)
	}
	next := auth.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/oauth2/revoke" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, authserver.MaxFormBytes+1))
		r.Body.Close()
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status != http.StatusOK {
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return
		}
		client, _, ok := r.BasicAuth()
		if !ok {
			client = form.Get("client_id")
		} else if c, err := url.QueryUnescape(client); err == nil {
			client = c
		}
		c, err := v.Verify(r.Context(), form.Get("token"))
		if err != nil || c.ClientID != client {
			return // not an access token of this client: the auth server ignored it too (RFC 7009 §2.2)
		}
		if err := list.Add(r.Context(), revocation.ByToken(c.ID, c.ExpiresAt.Time().Add(token.DefaultLeeway))); err != nil {
			log.ErrorContext(r.Context(), "publish revocation failed", "jti", c.ID, "error", err)
		}
	}), nil
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
