package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/ttlcache"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// Client authentication with private_key_jwt (RFC 7523 §2.2, OpenID
// Connect Core §9): the client signs a short JWT with its private key and
// sends it as client_assertion; the server checks it against the public
// keys registered for the client (identity.Client.JWKS).
const (
	// AssertionType is the only client_assertion_type accepted.
	AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// MaxAssertionLifetime bounds exp of a client assertion from now: a
	// longer-lived assertion is refused, so that the replay cache holds at
	// most this long of jtis.
	MaxAssertionLifetime = 5 * time.Minute
)

// ReplayStore records the jtis of client assertions where every auth
// server instance sees them, so that an assertion accepted by one is
// refused by all the others (RFC 7523 §3, item 7, across instances):
// package authserver/redisjti keeps them in Redis. It is asked after this
// instance's own cache accepted the jti (which keeps the per-client quota).
type ReplayStore interface {
	// Use records jti of the client id for ttl, atomically, and reports
	// whether it was new. An error means it could not tell: the assertion
	// is then refused with 503 temporarily_unavailable (fail closed).
	Use(ctx context.Context, clientID, jti string, ttl time.Duration) (fresh bool, err error)
}

// assertionAlgorithms are the algorithms a client assertion may use:
// asymmetric only, so that the server never holds what signs for a client.
var assertionAlgorithms = []keys.Algorithm{keys.ES256, keys.EdDSA, keys.RS256, keys.PS256}

// authenticateAssertion authenticates the client of r by its
// client_assertion. The assertion's iss and sub are the client id; its aud
// is this server's issuer, alone; it expires within MaxAssertionLifetime
// and its jti is used once.
func (s *Server) authenticateAssertion(ctx context.Context, r *http.Request) (*identity.Client, *oauthError) {
	if t := r.PostForm.Get("client_assertion_type"); t != AssertionType {
		return nil, badRequest(errInvalidRequest, "client_assertion_type must be "+AssertionType)
	}
	assertion := r.PostForm.Get("client_assertion")
	if assertion == "" {
		return nil, badRequest(errInvalidRequest, "client_assertion is missing")
	}
	refuse := func(id, why string) (*identity.Client, *oauthError) {
		s.audit(ctx, "client_auth_failed", "client_id", id, "method", "private_key_jwt", "reason", why)
		return nil, oerr(http.StatusUnauthorized, errInvalidClient, "client assertion refused: "+why)
	}
	_, raw, err := token.ParseUnverified(assertion)
	if err != nil {
		return refuse("", "not a JWT")
	}
	var named struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(raw, &named); err != nil || named.Sub == "" {
		return refuse("", "sub (the client id) is missing")
	}
	id := named.Sub
	if named.Iss != id {
		return refuse(id, "iss and sub must both be the client id")
	}
	if fid := r.PostForm.Get("client_id"); fid != "" && fid != id {
		return nil, badRequest(errInvalidRequest, "client_id differs from the client assertion's sub")
	}
	c, err := s.clientWithSecret(ctx, id) // from the store: keys just removed must not linger in a cache
	if errors.Is(err, identity.ErrNotFound) {
		return refuse(id, "unknown client or bad signature")
	}
	if err != nil {
		s.log.ErrorContext(ctx, "client lookup failed", "client_id", id, "error", err)
		return nil, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "try again later")
	}
	if c.Public || c.JWKS == "" {
		return refuse(id, "the client has no keys registered for private_key_jwt")
	}
	ks, err := keys.ParseJWKS([]byte(c.JWKS))
	if err != nil || len(ks) == 0 {
		s.log.ErrorContext(ctx, "client keys unusable", "client_id", id, "error", err)
		return refuse(id, "the client's registered keys are unusable")
	}
	src, err := keys.NewStatic(ks...)
	if err != nil {
		return refuse(id, "the client's registered keys are unusable")
	}
	v, err := token.NewVerifier(src, id, "", token.WithAnyAudience(), token.WithAnyType(),
		token.WithRequiredClaims("jti"), token.WithCacheSize(0), token.WithClock(s.now),
		token.WithAlgorithms(assertionAlgorithms...))
	if err != nil {
		return refuse(id, "the client's registered keys are unusable")
	}
	claims, err := v.Verify(ctx, assertion)
	if err != nil {
		return refuse(id, err.Error())
	}
	if !s.assertionAudienceOK(claims.Audience) {
		return refuse(id, "aud must be this server's issuer identifier, alone")
	}
	now := s.now()
	exp := claims.ExpiresAt.Time()
	if exp.Sub(now) > MaxAssertionLifetime {
		return refuse(id, "the assertion lives longer than 5 minutes")
	}
	// The verifier accepts an exp up to its leeway in the past: remember the
	// jti that long too, or the assertion could be replayed in that window.
	until := exp.Add(token.DefaultLeeway)
	if !s.assertions.use(id, claims.ID, until) {
		return refuse(id, "the assertion's jti was used before")
	}
	if rs := s.cfg.AssertionReplay; rs != nil {
		fresh, err := rs.Use(ctx, id, claims.ID, until.Sub(now))
		if err != nil {
			s.assertions.forget(id, claims.ID) // not accepted anywhere: a retry may use it
			s.log.ErrorContext(ctx, "client assertion replay check failed", "client_id", id, "jti", claims.ID, "error", err)
			return nil, oerr(http.StatusServiceUnavailable, errTemporarilyUnavail, "try again later")
		}
		if !fresh { // accepted by another instance
			return refuse(id, "the assertion's jti was used before")
		}
	}
	return c, nil
}

// assertionAudienceOK reports whether aud is this server's issuer
// identifier as its sole value (draft-ietf-oauth-rfc7523bis §4): a string,
// or an array of that one string. Not the token endpoint's URL, nor an
// array that also names another server: a client that signs for another
// authorization server which claims this one's endpoint in its metadata
// would otherwise hand that server an assertion it can replay here (the
// audience injection attack the draft fixes). openid-client 6 (oauth4webapi
// clientAssertionPayload) sends aud: issuer, as the draft asks.
func (s *Server) assertionAudienceOK(aud token.Audience) bool {
	return len(aud) == 1 && aud[0] == s.issuer
}

// assertionJTIs remembers the jtis of client assertions until they expire,
// so that each is used once (RFC 7523 §3, item 7). Each client has its own
// quota (maxClientJTIs), so that one client cannot crowd out the others;
// there is no other bound, as forgetting an unexpired jti would let it be
// replayed. It is per process: with several auth server instances, an
// assertion replayed to another instance within its (at most five-minute)
// life is caught only by Config.AssertionReplay.
type assertionJTIs struct {
	seen *ttlcache.Cache[clientJTI, struct{}]

	mu     sync.Mutex
	counts map[string]int // client id → its jtis in seen, expired ones not yet removed included
}

type clientJTI struct{ client, jti string }

// maxClientJTIs bounds the jtis remembered per client: a client that sends
// more unexpired assertions than this is refused until some expire.
const maxClientJTIs = 10_000

func newAssertionJTIs(now func() time.Time) *assertionJTIs {
	a := &assertionJTIs{counts: map[string]int{}}
	a.seen = ttlcache.Must(ttlcache.Options[clientJTI, struct{}]{Now: now, OnRemove: a.removed})
	return a
}

// use records jti of client id until the given time and reports whether it
// was new (and within the client's quota).
func (a *assertionJTIs) use(id, jti string, until time.Time) bool {
	if !a.reserve(id) {
		a.seen.CleanUp() // the expired jtis give their room back
		if !a.reserve(id) {
			return false
		}
	}
	if !a.seen.Add(clientJTI{id, jti}, struct{}{}, until) {
		a.release(id)
		return false
	}
	return true
}

// forget drops jti of client id, which was not accepted after all.
func (a *assertionJTIs) forget(id, jti string) { a.seen.Delete(clientJTI{id, jti}) }

// reserve counts one more jti for client id, within its quota.
func (a *assertionJTIs) reserve(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counts[id] >= maxClientJTIs {
		return false
	}
	a.counts[id]++
	return true
}

// release gives back what reserve counted.
func (a *assertionJTIs) release(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counts[id]--; a.counts[id] <= 0 {
		delete(a.counts, id)
	}
}

// removed is called by the cache for each jti that leaves it (expired,
// forgotten).
func (a *assertionJTIs) removed(k clientJTI, _ struct{}) { a.release(k.client) }
