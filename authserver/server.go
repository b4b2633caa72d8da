package authserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/token"
)

// Server is the OAuth 2.0 / OpenID Connect authorization server. It is safe
// for concurrent use; its [Server.Handler] serves every endpoint.
type Server struct {
	cfg      Config
	issuer   string
	store    identity.Store
	log      *slog.Logger
	now      func() time.Time
	throttle *throttle // logins (login_check.go)
	// clientThrottle counts failed client authentication
	// (client_secret_check.go).
	clientThrottle *throttle
	hashes         *hashGate // argon2id work in flight
	secrets        *secretCache
	clients        *clientCache // clients read for a secret check, for a second (clientcache.go)
	// assertions are the jtis of private_key_jwt client assertions seen.
	assertions *assertionJTIs
	stats      *stats          // token endpoint counters
	tel        *telemetry      // spans and the token endpoint histogram (tracing.go)
	verifier   *token.Verifier // own access tokens, any audience, with revocation
	dpop       *dpop.Verifier  // DPoP proofs (dpop_check.go)

	mu       sync.RWMutex
	signing  *keys.Key
	signedAt time.Time // when the signing key started signing
	// next is the key published ahead that signs from nextFrom (nil when
	// none waits); SigningKey switches to it then (signing.go).
	next     *keys.Key
	nextFrom time.Time
	verifyBy map[string]*keys.Key
	jwks     []byte
	// deny is the deny list (Config.DenyList or the server's own), which
	// its verifier and the refresh grant check.
	deny *revocation.List

	loadedAt      time.Time
	reloadMu      sync.Mutex
	reloadBackoff reloadBackoff // spaces reloads while the store fails (health.go)

	cors atomic.Pointer[corsIndex] // allowed origins of the browser clients

	// unpublished is set while stored revocations may be missing from
	// Config.Revocations (a failed publication); pubResyncs is the
	// publisher's resync count at the last republication; republishing
	// is set while one runs.
	unpublished, republishing atomic.Bool
	pubResyncs                atomic.Uint64
}

// New checks cfg, loads (or creates) the signing keys from the store and
// returns the server.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := checkIssuer(cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.Store == nil {
		return nil, errors.New("authserver: a store is required")
	}
	if cfg.AccessTokenTTL == 0 {
		cfg.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if cfg.RefreshTokenTTL == 0 {
		cfg.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if cfg.IDTokenTTL == 0 {
		cfg.IDTokenTTL = DefaultIDTokenTTL
	}
	if cfg.CodeTTL == 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.CodeTTL > 60*time.Second || cfg.CodeTTL < 0 {
		return nil, fmt.Errorf("authserver: code lifetime %s: must be at most 60s", cfg.CodeTTL)
	}
	if cfg.AccessTokenTTL < 0 || cfg.RefreshTokenTTL < 0 || cfg.IDTokenTTL < 0 {
		return nil, errors.New("authserver: token lifetimes must be positive")
	}
	if cfg.SigningAlgorithm == "" {
		cfg.SigningAlgorithm = keys.ES256
	}
	if cfg.SigningAlgorithm.Symmetric() {
		return nil, errors.New("authserver: the auth server signs with an asymmetric algorithm (ES256, EdDSA, RS256, PS256)")
	}
	if cfg.KeyReload == 0 {
		cfg.KeyReload = DefaultKeyReload
	}
	if cfg.KeyPublishAhead < 0 || cfg.KeyReload < 0 {
		return nil, errors.New("authserver: KeyReload and KeyPublishAhead must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := checkSenderConstraint(&cfg); err != nil { // mtls.go, par.go
		return nil, err
	}
	proofs, err := newDPoP(cfg.DPoP, cfg.Now) // dpop_check.go
	if err != nil {
		return nil, err
	}
	if cfg.Legacy != nil {
		if err := cfg.Legacy.check(); err != nil {
			return nil, err
		}
	}
	deny := cfg.DenyList
	if deny == nil {
		var err error
		if deny, err = revocation.NewMemory(revocation.WithClock(cfg.Now)); err != nil {
			return nil, fmt.Errorf("authserver: deny list: %w", err)
		}
	}
	if p, ok := cfg.Revocations.(*revocation.List); ok && p == deny {
		cfg.Revocations = nil // the list is the deny list already: nothing more to publish to
	}
	s := &Server{
		deny:       deny,
		cfg:        cfg,
		issuer:     cfg.Issuer,
		store:      cfg.Store,
		log:        cfg.Logger,
		now:        cfg.Now,
		throttle:   newThrottle(cfg.Throttle, 15*time.Minute, cfg.Now),
		secrets:    newSecretCache(),
		clients:    newClientCache(),
		assertions: newAssertionJTIs(cfg.Now),
		stats:      newStats(),
		dpop:       proofs,

		clientThrottle: newThrottle(cfg.ClientThrottle, time.Minute, cfg.Now),
		hashes:         newHashGate(cfg.Argon2Concurrency, cfg.Argon2Queue),
	}
	deny.OnRevoke(s.clients.forgetRevoked) // before the reload: stored revocations count
	tel, err := newTelemetry(cfg.TracerProvider, cfg.MeterProvider)
	if err != nil {
		return nil, fmt.Errorf("authserver: telemetry: %w", err)
	}
	s.tel = tel
	if err := s.ensureSigningKey(ctx); err != nil {
		return nil, err
	}
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	s.startPublishing(ctx) // shared state: publish stored revocations
	v, err := token.NewVerifier(s, s.issuer, "", token.WithAnyAudience(), token.WithRevoker(s), token.WithClock(s.now))
	if err != nil {
		return nil, err
	}
	s.verifier = v
	return s, nil
}

func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("authserver: issuer %q must be an absolute http(s) URL", issuer)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(issuer, "/") {
		return fmt.Errorf("authserver: issuer %q must have no query, fragment or trailing slash", issuer)
	}
	return nil
}

// Issuer returns the issuer identifier.
func (s *Server) Issuer() string { return s.issuer }

// Handler returns the HTTP handler of every endpoint:
//
//	GET  /.well-known/openid-configuration
//	GET  /.well-known/oauth-authorization-server
//	GET  /.well-known/jwks.json
//	GET  /oauth2/authorize
//	POST /oauth2/token
//	POST /oauth2/introspect
//	POST /oauth2/revoke
//	GET  /userinfo (and POST)
//	GET  /oauth2/logout (and POST): RP-initiated logout
//	POST /oauth2/par: pushed authorization requests (RFC 9126)
//	GET  /login, POST /login
//
// Discovery, JWKS, token, userinfo, revoke, PAR and logout answer CORS (and its
// OPTIONS preflights) for the origins of the registered browser clients
// (see cors.go).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	browser := func(path string, h http.HandlerFunc, methods ...string) {
		c := s.withCORS(strings.Join(methods, ", "), h)
		for _, m := range append(methods, http.MethodOptions) {
			mux.HandleFunc(m+" "+path, c)
		}
	}
	browser("/.well-known/openid-configuration", s.discovery, http.MethodGet)
	browser("/.well-known/oauth-authorization-server", s.discovery, http.MethodGet)
	browser("/.well-known/jwks.json", s.serveJWKS, http.MethodGet)
	browser("/oauth2/token", s.observeToken(s.tokenEndpoint), http.MethodPost) // metrics.go
	browser("/oauth2/revoke", s.revoke, http.MethodPost)
	browser("/userinfo", s.userinfo, http.MethodGet, http.MethodPost)
	browser("/oauth2/logout", s.endSession, http.MethodGet, http.MethodPost)
	browser("/oauth2/par", s.pushAuthorizationRequest, http.MethodPost) // par.go
	mux.HandleFunc("GET /oauth2/authorize", s.authorize)
	mux.HandleFunc("POST /oauth2/introspect", s.introspect)
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	return s.tel.traceHandler(s.guardBody(mux)) // tracing.go
}

// guardBody bounds every body and keeps reloads fresh.
func (s *Server) guardBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		s.maybeReload(r.Context())
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// ensureSigningKey creates the first signing key when the store has none.
func (s *Server) ensureSigningKey(ctx context.Context) error {
	stored, err := s.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("authserver: load signing keys: %w", err)
	}
	if len(stored) > 0 && stored[0].RetiredAt.IsZero() {
		return nil
	}
	_, _, err = RotateKey(ctx, s.store, s.cfg.SigningAlgorithm, s.now(), 0) // the first key: nobody to publish to yet
	return err
}

// RotateKey generates a signing key of alg and stores it as the newest
// key of store, published from now and signing from now + ahead, when the
// previous key stops signing; the previous key keeps verifying (and stays
// in the JWKS) until the tokens it signed have expired. Running servers
// publish it at their next reload and switch to it at its SignFrom: pass
// an ahead longer than their KeyReload plus the verifiers' JWKS cache age
// (DefaultKeyPublishAhead for the defaults), so that no verifier meets its
// kid before it has it. It returns the new key's kid and SignFrom.
func RotateKey(ctx context.Context, store identity.SigningKeys, alg keys.Algorithm, now time.Time, ahead time.Duration) (string, time.Time, error) {
	if ahead < 0 {
		return "", time.Time{}, fmt.Errorf("authserver: publish-ahead %s is negative", ahead)
	}
	k, err := keys.Generate(alg)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("authserver: %w", err)
	}
	jwk, err := k.PrivateJWK()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("authserver: %w", err)
	}
	from := now.Add(ahead)
	if err := store.RotateSigningKey(ctx, identity.SigningKey{ID: k.ID(), JWK: jwk, CreatedAt: now, SignFrom: from}, now); err != nil {
		return "", time.Time{}, fmt.Errorf("authserver: store signing key: %w", err)
	}
	return k.ID(), from, nil
}

// retention is how long a retired key keeps verifying: the longest token
// lifetime plus leeway, plus a reload interval for an instance that went
// on signing with it until its reload.
func (s *Server) retention() time.Duration {
	return max(s.cfg.AccessTokenTTL, s.cfg.IDTokenTTL, maxClientTTL) + leeway + s.cfg.KeyReload
}

// maxClientTTL caps per-client access token lifetimes, so that key
// retention covers them.
const maxClientTTL = 24 * time.Hour

func (s *Server) maybeReload(ctx context.Context) {
	s.mu.RLock()
	due := s.now().Sub(s.loadedAt) >= s.cfg.KeyReload
	s.mu.RUnlock()
	if !due || !s.reloadBackoff.allowed(s.now()) || !s.reloadMu.TryLock() {
		return
	}
	defer s.reloadMu.Unlock()
	if s.cfg.RotateEvery > 0 {
		s.SigningKey() // switch to a key that is due
		s.mu.RLock()
		old := s.next == nil && s.now().Sub(s.signedAt) >= s.cfg.RotateEvery
		s.mu.RUnlock()
		if old {
			if kid, from, err := RotateKey(ctx, s.store, s.cfg.SigningAlgorithm, s.now(), s.publishAhead()); err != nil {
				s.log.ErrorContext(ctx, "scheduled key rotation failed", "error", err)
			} else {
				s.audit(ctx, "signing_key_rotated", "kid", kid, "signs_from", from.UTC().Format(time.RFC3339))
			}
		}
	}
	if err := s.reload(ctx); err != nil {
		s.reloadFailed(ctx, err) // logs, and backs off (health.go)
	} else {
		s.reloadSucceeded(ctx)
	}
	// In the background: this runs on a request.
	go func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), republishTimeout)
		defer cancel()
		s.maybeRepublish(rctx)
	}()
}

// reload reads signing keys and revocations from the store.
func (s *Server) reload(ctx context.Context) error {
	now := s.now()
	stored, err := s.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("authserver: load signing keys: %w", err)
	}
	ks, err := scheduleKeys(stored, now, s.retention()) // signing.go
	if err != nil {
		return err
	}
	verifyBy := map[string]*keys.Key{}
	for _, k := range ks.published {
		verifyBy[k.ID()] = k
	}
	jwks, err := keys.MarshalJWKS(ks.published...)
	if err != nil {
		return fmt.Errorf("authserver: JWKS: %w", err)
	}
	revs, err := s.store.ListRevocations(ctx, now)
	if err != nil {
		return fmt.Errorf("authserver: load revocations: %w", err)
	}
	if err := s.loadCORS(ctx); err != nil {
		return err
	}
	// Added, not replaced: the list merges, and keeps what was applied
	// since ListRevocations read the store (a revocation made here
	// meanwhile, or one received from the publisher, perhaps never stored
	// here).
	for _, r := range revs {
		if err := s.deny.Add(ctx, r); err != nil && !errors.Is(err, revocation.ErrUnavailable) {
			s.log.WarnContext(ctx, "a stored revocation is malformed; skipped", "kind", string(r.Kind), "error", err)
		}
	}
	s.mu.Lock()
	s.signing, s.signedAt, s.verifyBy, s.jwks = ks.signing, ks.signingFrom, verifyBy, jwks
	s.next, s.nextFrom = ks.next, ks.nextFrom
	s.loadedAt = now
	s.mu.Unlock()
	return nil
}

// Reload reads signing keys and revocations from the store now, and
// publishes the stored revocations again to Config.Revocations if an
// earlier publication failed or the publisher resynced since (Redis
// restarted, perhaps without its data).
func (s *Server) Reload(ctx context.Context) error {
	if err := s.reload(ctx); err != nil {
		return err
	}
	s.maybeRepublish(ctx)
	return nil
}

// SigningKey returns the key that signs now (token.SigningKeys): the
// active key, or the key published ahead once its SignFrom has come, so
// that every instance switches at the same moment, not at its reload.
func (s *Server) SigningKey() *keys.Key {
	s.mu.RLock()
	k, next, from := s.signing, s.next, s.nextFrom
	s.mu.RUnlock()
	if next == nil || s.now().Before(from) {
		return k
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next != nil && !s.now().Before(s.nextFrom) {
		s.signing, s.signedAt, s.next = s.next, s.nextFrom, nil
	}
	return s.signing
}

// Key returns a verification key by kid (keys.Source).
func (s *Server) Key(_ context.Context, kid string) (*keys.Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k, ok := s.verifyBy[kid]; ok {
		return k, nil
	}
	return nil, keys.ErrKeyNotFound
}

// Revoked implements token.Revoker over the server's deny list.
func (s *Server) Revoked(ctx context.Context, c *token.Claims) (bool, error) {
	return s.deny.Revoked(ctx, c)
}

// DenyList returns the server's deny list (Config.DenyList, or its own).
func (s *Server) DenyList() *revocation.List { return s.deny }

// addRevocation stores r, applies it locally at once and publishes it to
// Config.Revocations; an error after the store succeeded says that the
// publishing failed.
func (s *Server) addRevocation(ctx context.Context, r identity.Revocation) error {
	if err := s.store.AddRevocation(ctx, r); err != nil {
		return err
	}
	if err := s.deny.Add(ctx, r); err != nil && !errors.Is(err, revocation.ErrUnavailable) {
		return err
	}
	return s.publish(ctx, r)
}

func (s *Server) issuerFor(ttl time.Duration) (*token.Issuer, error) {
	return token.NewIssuer(s.issuer, s, token.WithAccessTokenTTL(ttl), token.WithClock(s.now))
}

// randomBytes fills a new slice of n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
