package authserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// checkLogin verifies a username and password (the password grant and the
// login form), in this order:
//
//  1. both given, else 400 (no work done, nothing counted);
//  2. an attempt reserved with the login throttle for the account and the
//     client's IP, else 429: the reservation comes before the password is
//     checked, so that parallel guesses count as they start;
//  3. the user looked up, before the argon2id gate (a store round trip
//     holds no slot of it);
//  4. a slot of the gate (hashgate.go), else 503, the attempt not counted;
//  5. the password verified; an unknown user costs one verification
//     against a dummy hash, so that unknown user, disabled user and wrong
//     password give the same answer after the same work. A failure counts
//     for the account and the IP; a success clears the account's failures.
func (s *Server) checkLogin(ctx context.Context, r *http.Request, username, password string) (*identity.User, *oauthError) {
	if username == "" || password == "" {
		return nil, badRequest(errInvalidRequest, "username and password are required")
	}
	userKey, ipKey := "user:"+strings.ToLower(username), "ip:"+clientIP(r)
	try, wait := s.throttle.reserve(ctx, userKey, ipKey)
	if try == nil {
		s.audit(ctx, "login_throttled", "username", username, "ip", clientIP(r))
		return nil, throttled(errInvalidGrant, "too many failed logins", wait)
	}
	u, err := s.userCredentials(ctx, username)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		u = nil
	case err != nil:
		try.release()
		return nil, internal("user lookup: %v", err)
	}
	release := s.hashes.enter(ctx)
	if release == nil {
		try.release()
		s.audit(ctx, "login_busy", "username", username, "ip", clientIP(r))
		return nil, busy()
	}
	ok := s.passwordMatches(ctx, u, password)
	release()
	if ok {
		try.succeed(userKey)
		return u, nil
	}
	try.fail()
	s.audit(ctx, "login_failed", "username", username, "ip", clientIP(r))
	return nil, badRequest(errInvalidGrant, "wrong username or password")
}

// passwordMatches verifies password against u's hash (one argon2id
// verification, also for an unknown user, u nil, against a dummy hash):
// true for an enabled user whose password matches.
func (s *Server) passwordMatches(ctx context.Context, u *identity.User, password string) bool {
	if u == nil {
		return identity.VerifyNoUser(password)
	}
	ok, err := identity.VerifyPassword(u.PasswordHash, password)
	if err != nil {
		s.log.ErrorContext(ctx, "stored password hash is unusable", "username", u.Username, "error", err)
	}
	return ok && !u.Disabled
}

// throttled is the 429 answer of a throttle, with its Retry-After.
func throttled(code, what string, wait time.Duration) *oauthError {
	secs := int((wait + time.Second - 1) / time.Second)
	e := oerr(http.StatusTooManyRequests, code, fmt.Sprintf("%s; try again in %d seconds", what, secs))
	e.retryAfter = wait
	return e
}
