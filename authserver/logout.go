package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/token"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0). The auth
// server keeps no browser session of its own (every authorization request
// shows the login form), so the login session an application ends is the
// one its tokens were issued in: the refresh token family, named by the sid
// claim of its ID and access tokens. Ending it revokes the family and puts
// the sid on the deny list, which reaches the gateway and every guard.

// idTokenHintLeeway is how long after its exp an ID token is still
// accepted as id_token_hint (§2: the OP should accept expired ones): an app
// whose ID token expired must still be able to end the session.
const idTokenHintLeeway = 24 * time.Hour

// logoutParams are the parameters of §2.
var logoutParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales"}

// endSession serves the end_session_endpoint (GET and POST, §2).
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, &pageError{http.StatusBadRequest, "The logout request could not be read."})
		return
	}
	q := r.Form
	for _, p := range logoutParams {
		if len(q[p]) > 1 {
			s.errorPage(w, &pageError{http.StatusBadRequest, "The parameter " + p + " was given more than once."})
			return
		}
	}
	hint, clientID, redirect := q.Get("id_token_hint"), q.Get("client_id"), q.Get("post_logout_redirect_uri")
	var session *token.Claims
	if hint != "" {
		c, err := s.verifyIDTokenHint(ctx, hint)
		if err != nil {
			s.audit(ctx, "logout_refused", "reason", "id_token_hint: "+err.Error())
			s.errorPage(w, &pageError{http.StatusBadRequest, "The id_token_hint is not a valid ID token of this server. Sign out from your application again."})
			return
		}
		switch {
		case clientID == "":
			clientID = idTokenClient(c)
		case !c.Audience.Contains(clientID):
			s.audit(ctx, "logout_refused", "client_id", clientID, "reason", "client_id is not an audience of id_token_hint")
			s.errorPage(w, &pageError{http.StatusBadRequest, "The client_id does not match the id_token_hint."})
			return
		}
		session = c
	}
	if redirect != "" {
		if clientID == "" {
			s.errorPage(w, &pageError{http.StatusBadRequest, "post_logout_redirect_uri needs client_id or id_token_hint."})
			return
		}
		client, err := s.store.ClientByID(ctx, clientID)
		switch {
		case errors.Is(err, identity.ErrNotFound):
			s.errorPage(w, &pageError{http.StatusBadRequest, "Unknown client. Check the client_id your application is configured with."})
			return
		case err != nil:
			s.log.ErrorContext(ctx, "client lookup failed", "client_id", clientID, "error", err)
			s.errorPage(w, &pageError{http.StatusServiceUnavailable, "The login service is unavailable. Try again later."})
			return
		case !slices.Contains(client.PostLogoutRedirectURIs, redirect):
			s.audit(ctx, "logout_refused", "client_id", clientID, "reason", "unregistered post_logout_redirect_uri")
			s.errorPage(w, &pageError{http.StatusBadRequest, "The post_logout_redirect_uri is not registered for this client; it must match a registered URI exactly."})
			return
		}
	}
	if session != nil && session.SessionID == "" {
		// An ID token from before sessions had ids: there is nothing to end.
		s.audit(ctx, "logout_without_session", "sub", session.Subject, "client_id", clientID)
		session = nil
	}
	if session != nil {
		if err := s.EndSession(ctx, session.SessionID); err != nil {
			s.log.ErrorContext(ctx, "ending the session failed", "sid", session.SessionID, "error", err)
			s.errorPage(w, &pageError{http.StatusServiceUnavailable, "Signing out failed. Try again later."})
			return
		}
		s.audit(ctx, "session_ended", "sid", session.SessionID, "sub", session.Subject, "client_id", clientID)
	}
	if redirect != "" {
		v := url.Values{}
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		target := redirect
		if len(v) > 0 {
			target = withQuery(redirect, v)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	pageHeaders(w, "")
	w.WriteHeader(http.StatusOK)
	writeLoggedOutPage(w, session != nil)
}

// EndSession ends the login session sid: it revokes the session's refresh
// token family, then every access token issued in it (a deny-list entry
// for the sid, kept until the longest-lived of them has expired), which
// Config.Revocations pushes to the gateway and the services (see
// revokeGrant). An entry stored but not published is not an error here:
// it is applied by this server and republished later.
func (s *Server) EndSession(ctx context.Context, sid string) error {
	if err := s.revokeGrant(ctx, sid); err != nil && !errors.Is(err, errNotPublished) {
		return err
	}
	return nil
}

// sessionMargin keeps a session's deny entry a minute past the last
// moment a token of the session can be accepted.
const sessionMargin = time.Minute

// sessionEnded reports whether the login session sid was ended here or
// published as ended.
func (s *Server) sessionEnded(ctx context.Context, sid string) bool {
	ended, _ := s.deny.Revoked(ctx, &token.Claims{SessionID: sid})
	return ended
}

// verifyIDTokenHint checks that raw is an ID token this server issued
// (signature with its keys, iss, typ JWT), accepting one that expired up to
// idTokenHintLeeway ago. A session already ended is accepted: logging out
// twice is harmless.
func (s *Server) verifyIDTokenHint(ctx context.Context, raw string) (*token.Claims, error) {
	// Verify as of now, or as of its exp when that passed less than
	// idTokenHintLeeway ago; the signature and every other check stand.
	at := s.now()
	if _, payload, err := token.ParseUnverified(raw); err == nil {
		var c struct {
			Exp token.NumericDate `json:"exp"`
		}
		if json.Unmarshal(payload, &c) == nil && c.Exp != 0 {
			if exp := c.Exp.Time(); exp.Before(at) && at.Sub(exp) <= idTokenHintLeeway {
				at = exp
			}
		}
	}
	v, err := token.NewVerifier(s, s.issuer, "", token.WithAnyAudience(), token.WithTypes(token.TypeJWT),
		token.WithCacheSize(0), token.WithClock(func() time.Time { return at }))
	if err != nil {
		return nil, err
	}
	c, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if c.ClientID != "" || c.Scope != "" {
		return nil, errors.New("an access token, not an ID token")
	}
	return c, nil
}

// idTokenClient is the client an ID token was issued to: azp, or its one
// audience.
func idTokenClient(c *token.Claims) string {
	var azp string
	if ok, err := c.Custom("azp", &azp); ok && err == nil && azp != "" {
		return azp
	}
	if len(c.Audience) == 1 {
		return c.Audience[0]
	}
	return ""
}
