package authserver

import (
	"context"
	"net/http"

	"github.com/gatehousehq/gatehouse/identity"
)

// checkClientSecret decides whether one of the candidates (the secret as
// decoded and as sent, see formDecoded) is the secret of client id; c is
// the stored client, nil when the id is unknown. In this order:
//
//  1. the throttle's verdict on the caller's IP, else 429: also for a
//     secret that the cache knows, or a blocked IP would learn which of
//     its guesses is right;
//  2. the secret cache (secretcache.go): a secret that verified before
//     costs an HMAC, takes no slot of the argon2id gate and is not held
//     back by failures counted against the client id, so that a flood of
//     bad secrets for a client's id from elsewhere does not lock the
//     client out;
//  3. an attempt reserved with the client throttle for the id and the IP,
//     before any argon2id work, else 429 (a reservation may wait its turn
//     behind attempts in flight, and then finds the secret cached);
//  4. a slot of the argon2id gate (hashgate.go), else 503, the attempt not
//     counted;
//  5. argon2id: against the client's hash, or, for an unknown client (or
//     one without a secret), against a dummy hash, once per candidate as
//     for a known one, so that timing does not tell them apart. A failure
//     counts for the id and the IP; a success clears the id's failures.
func (s *Server) checkClientSecret(ctx context.Context, r *http.Request, id string, c *identity.Client, candidates []string) (*identity.Client, *oauthError) {
	ip := clientIP(r)
	idKey, ipKey := "client:"+id, "ip:"+ip
	if wait := s.clientThrottle.refuses(ipKey); wait > 0 {
		s.audit(ctx, "client_auth_throttled", "client_id", id, "ip", ip)
		return nil, throttled(errInvalidClient, "too many failed client authentications", wait)
	}
	known := c != nil && c.SecretHash != ""
	if known && s.secrets.cached(c, candidates...) {
		return c, nil
	}
	try, wait := s.clientThrottle.reserve(ctx, idKey, ipKey)
	if try == nil {
		s.audit(ctx, "client_auth_throttled", "client_id", id, "ip", ip)
		return nil, throttled(errInvalidClient, "too many failed client authentications", wait)
	}
	if known && s.secrets.cached(c, candidates...) { // verified while this one waited its turn
		try.release()
		return c, nil
	}
	release := s.hashes.enter(ctx)
	if release == nil {
		try.release()
		s.audit(ctx, "client_auth_busy", "client_id", id, "ip", ip)
		return nil, busy()
	}
	ok := false
	if known {
		ok = s.secrets.verify(c, candidates...)
	} else {
		for _, v := range candidates {
			identity.VerifyNoUser(v)
		}
	}
	release()
	if ok {
		try.succeed(idKey)
		return c, nil
	}
	try.fail()
	s.audit(ctx, "client_auth_failed", "client_id", id, "ip", ip)
	return nil, oerr(http.StatusUnauthorized, errInvalidClient, "unknown client or bad credentials")
}
