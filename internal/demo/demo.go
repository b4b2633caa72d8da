package demo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/cache"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/internal/tracing"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/ratelimit"
	"github.com/gatehousehq/gatehouse/redisconn"
	"github.com/gatehousehq/gatehouse/revocation"
	"github.com/gatehousehq/gatehouse/revocation/redislist"
)

// DefaultData is the default data folder: not the ./gatehouse-data of
// 'gatehouse serve' and the admin commands, so that the demo and a real
// store never meet by default.
const DefaultData = "gatehouse-demo"

// Config configures the demo. The zero value runs on random free ports with
// the data folder ./gatehouse-demo, in-memory engines and no output.
type Config struct {
	// PortBase moves every port (see PortsFor); 0 picks random free ports.
	PortBase int
	// Data is the folder of the SQLite store and of the demo's generated
	// secrets (default DefaultData). A second start reuses both. The demo
	// uses only a folder that does not exist yet, an empty one (both get
	// the MarkerFile) or one with its MarkerFile; any other folder, a real
	// store above all, is refused before anything is written, with an
	// error wrapping ErrNotDemoData (datadir.go).
	Data string
	// Password, when set, is the password of every demo user. It must
	// pass identity.CheckPassword.
	Password string
	// RedisURL, when set, puts rate limits, the revocation list and the
	// identity cache in Redis.
	RedisURL string
	// PostgresURL, when set, keeps the identity store in PostgreSQL
	// instead of the SQLite file. Like Data, its schema must be empty
	// (it then gets the MarkerTable) or hold the MarkerTable (database.go).
	PostgresURL string
	// KeyPrefix prefixes every Redis key of the demo (default
	// "gatehouse-demo"); tests set a unique one.
	KeyPrefix string
	// Logger receives the components' logs (default: discarded).
	Logger *slog.Logger
	// TracerProvider receives the spans of every component (tracing.go;
	// default: the global one, otel.GetTracerProvider, as Start finds it).
	TracerProvider trace.TracerProvider
	// Out receives the guide that Run prints (default: discarded).
	Out io.Writer
}

// Env is a running demo: its addresses, the demo credentials and switches
// for the walkthrough. Close stops it.
type Env struct {
	// Ports are the bound ports.
	Ports Ports
	// Issuer is the auth server's issuer URL, GatewayURL and AdminURL the
	// gateway's listeners; Services maps each sample service (and "app",
	// the browser app's file server) to its URL.
	Issuer, GatewayURL, AdminURL string
	Services                     map[string]string
	// MTLSURL is the auth server's mutual-TLS listener (https, RFC 8705),
	// where orders authenticates with its workload certificate and gets
	// certificate-bound tokens (mtls.go).
	MTLSURL string
	// AppURL is the browser app, served by the gateway at /app/.
	AppURL string
	// Passwords of the demo users, and the secrets of the confidential
	// clients (cli and one per service).
	Passwords, ClientSecrets map[string]string
	// SecretsDir holds one file per password and secret.
	SecretsDir string
	// NewSecrets reports that this start generated secrets (a first start).
	NewSecrets bool
	// Engines says what backs the store, limits, revocation and cache.
	Engines string

	store    identity.Store
	reads    *countingStore
	profiles *server
	mtls     *mesh // the CA and identities of orders → payments
	servers  []*server
	closers  []func() error
	log      *slog.Logger
	tracing  bool // spans are exported (tracing.go)
}

// StoreReads returns how many identity store reads the sample services made
// (the auth server's own reads are not counted).
func (e *Env) StoreReads() int64 { return e.reads.Reads() }

// SetProfilesDown stops (true) or restarts (false) the profiles service, so
// that the walkthrough can show the breaker of users → profiles.
func (e *Env) SetProfilesDown(down bool) error {
	if down {
		return e.profiles.kill()
	}
	return e.profiles.start()
}

// Close stops every server and closes the engines.
func (e *Env) Close() error {
	var errs []error
	for _, s := range e.servers {
		if err := s.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(e.closers) - 1; i >= 0; i-- {
		if err := e.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run starts the demo, prints the guide to cfg.Out and blocks until ctx
// ends; then it stops everything and returns nil.
func Run(ctx context.Context, cfg Config) error {
	env, err := Start(ctx, cfg)
	if err != nil {
		return err
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	PrintGuide(out, env)
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping the demo…")
	return env.Close()
}

// Start starts the auth server, the gateway and the sample services and
// returns when all of them listen. On error nothing is left running.
func Start(ctx context.Context, cfg Config) (_ *Env, err error) {
	if cfg.Data == "" {
		cfg.Data = DefaultData
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "gatehouse-demo"
	}
	tp := tracing.Provider(cfg.TracerProvider)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Password != "" {
		if err := identity.CheckPassword(cfg.Password); err != nil {
			return nil, fmt.Errorf("demo: Config.Password: %w", err)
		}
	}
	// The demo writes only into a folder and a database of its own
	// (datadir.go, database.go): check both before anything is written.
	folder, err := checkFolder(cfg.Data)
	if err != nil {
		return nil, err
	}
	var db *dbClaim
	if cfg.PostgresURL != "" {
		if db, err = checkDatabase(ctx, cfg.PostgresURL); err != nil {
			return nil, err
		}
	}
	ports, err := PortsFor(cfg.PortBase)
	if err != nil {
		return nil, err
	}
	env := &Env{log: log, Services: map[string]string{}}
	defer func() {
		if err != nil {
			env.Close()
		}
	}()

	// Bind every port first: a port in use fails before anything starts.
	names := []struct {
		name string
		port *int
	}{
		{"auth server", &ports.Auth}, {"auth server mTLS", &ports.AuthMTLS}, {"gateway", &ports.Gateway}, {"gateway admin", &ports.GatewayAdmin},
		{"accounts", &ports.Accounts}, {"admin", &ports.Admin}, {"users", &ports.Users}, {"profiles", &ports.Profiles},
		{"orders", &ports.Orders}, {"payments", &ports.Payments}, {"legacy", &ports.Legacy}, {"app", &ports.App},
	}
	listeners := map[string]net.Listener{}
	for _, n := range names {
		l, err := listen(n.name, *n.port)
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return nil, err
		}
		listeners[n.name] = l
		*n.port = portOf(l)
	}
	env.Ports = ports
	url := func(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }
	env.Issuer, env.GatewayURL, env.AdminURL = url(ports.Auth), url(ports.Gateway), url(ports.GatewayAdmin)
	env.AppURL = env.GatewayURL + "/app/"
	env.MTLSURL = "https://127.0.0.1:" + strconv.Itoa(ports.AuthMTLS)
	for name, port := range map[string]int{"accounts": ports.Accounts, "admin": ports.Admin, "users": ports.Users,
		"profiles": ports.Profiles, "orders": ports.Orders, "payments": ports.Payments, "legacy": ports.Legacy,
		"app": ports.App} {
		env.Services[name] = url(port)
	}
	env.Services["payments"] = "https://127.0.0.1:" + strconv.Itoa(ports.Payments) // mutual TLS (mtls.go)
	// Until a server owns its listener, Close must close it.
	env.closers = append(env.closers, func() error {
		for _, l := range listeners {
			l.Close()
		}
		return nil
	})

	// Every port is bound: mark the folder and the database as the demo's.
	if err := folder.claim(); err != nil {
		return nil, err
	}
	if db != nil {
		if err := db.claim(ctx); err != nil {
			return nil, err
		}
	}
	sec, err := loadSecrets(cfg.Data, cfg.Password)
	if err != nil {
		return nil, err
	}
	env.Passwords, env.ClientSecrets, env.SecretsDir, env.NewSecrets = sec.passwords, sec.clients, sec.dir, sec.created

	// Engines: Redis for limits, revocation and cache (first: a bad URL
	// fails before the slow seeding), then the store.
	eng, err := openEngines(ctx, cfg)
	if err != nil {
		return nil, err
	}
	env.closers = append(env.closers, eng.close)
	var store identity.Store
	if cfg.PostgresURL != "" {
		store, err = postgres.Open(ctx, cfg.PostgresURL, postgres.WithKeySealer(sec.keySealer))
		env.Engines = "store: PostgreSQL, " + eng.describe
	} else {
		store, err = sqlite.Open(ctx, filepath.Join(cfg.Data, "gatehouse.db"), sqlite.WithKeySealer(sec.keySealer))
		env.Engines = "store: SQLite " + filepath.Join(cfg.Data, "gatehouse.db") + ", " + eng.describe
	}
	if err != nil {
		return nil, fmt.Errorf("demo: open the identity store: %w", err)
	}
	env.closers = append(env.closers, store.Close)
	env.store = store
	if err := seed(ctx, store, sec, env.AppURL); err != nil {
		return nil, err
	}
	owners := map[string]string{}
	for _, u := range demoUsers {
		stored, err := store.UserByUsername(ctx, u.Username)
		if err != nil {
			return nil, fmt.Errorf("demo: seeded user %s: %w", u.Username, err)
		}
		owners[u.Username] = stored.ID
	}

	if err := replaceForeignKeys(ctx, store, log); err != nil { // signingkeys.go
		return nil, err
	}
	// The workload identities of the mTLS hops (mtls.go).
	mtls, err := newMesh()
	if err != nil {
		return nil, err
	}
	env.closers = append(env.closers, mtls.close)
	env.mtls = mtls
	// The auth server, with the legacy session service as a token exchange
	// source (organization-scoped data).
	auth, err := authserver.New(ctx, authserver.Config{
		Issuer: env.Issuer, Store: store, Logger: log.With("component", "authserver"),
		Legacy: &authserver.LegacySessions{IntrospectionURL: env.Services["legacy"] + "/introspect",
			ClientID: "gatehouse", ClientSecret: sec.legacy},
		// Revocations at /oauth2/revoke go onto the list every guard and
		// the gateway check: logout holds everywhere within a second.
		Revocations:    eng.revocations,
		TracerProvider: tp,
		// The mutual-TLS listener: orders' tls_client_auth and
		// certificate-bound tokens (RFC 8705; mtls.go).
		MTLSURL: env.MTLSURL, MTLSClientCAs: mtls.clientCAs(),
	})
	if err != nil {
		return nil, fmt.Errorf("demo: auth server: %w", err)
	}
	authHandler := auth.Handler()

	base := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second,
		DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}
	env.closers = append(env.closers, func() error { base.CloseIdleConnections(); return nil })
	jwks, err := keys.NewRemote(env.Issuer+"/.well-known/jwks.json", keys.WithHTTPClient(&http.Client{Transport: tracedTransport(tp, base), Timeout: 5 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("demo: JWKS source: %w", err)
	}
	env.tracing = tracing.Enabled(tp)
	p := &platform{issuer: env.Issuer, tokenURL: env.Issuer + "/oauth2/token", keys: jwks, revoker: eng.revocations, log: log, base: base, tp: tp}

	env.reads = &countingStore{Store: store}
	dirA, err := newDirectory(env.reads, eng.cache)
	if err != nil {
		return nil, err
	}
	dirB, err := newDirectory(env.reads, eng.cache)
	if err != nil {
		dirA.Close()
		return nil, err
	}
	env.closers = append(env.closers, dirA.Close, dirB.Close)

	// serveOn starts serving a component on its bound listener.
	serveOn := func(name string, h http.Handler) {
		s := &server{name: name, addr: listeners[name].Addr().String(), handler: h, log: log}
		switch name {
		case "payments":
			s.tls = mtls.paymentsTLS()
		case "auth server mTLS":
			s.tls = mtls.authTLS()
		}
		s.serve(listeners[name])
		delete(listeners, name)
		env.servers = append(env.servers, s)
		if name == "profiles" {
			env.profiles = s
		}
	}
	// The auth server and the legacy system serve first: the gateway reads
	// the discovery document when it starts.
	serveOn("auth server", authHandler)
	serveOn("auth server mTLS", auth.MTLSHandler())
	serveOn("legacy", newLegacy(sec.passwords, sec.legacy).handler())
	handlers := map[string]http.Handler{}
	build := []struct {
		name string
		fn   func() (http.Handler, error)
	}{
		{"accounts", func() (http.Handler, error) { return newAccounts(p, env.Services["admin"], sec.hs256, dirA) }},
		{"admin", func() (http.Handler, error) { return newAdmin(p, sec.hs256, dirB) }},
		{"users", func() (http.Handler, error) { return newUsers(p, env.Services["profiles"]) }},
		{"profiles", func() (http.Handler, error) { return newProfiles(p) }},
		{"orders", func() (http.Handler, error) {
			return newOrders(p, env, mtls, owners)
		}},
		{"payments", func() (http.Handler, error) { return newPayments(p) }},
		{"app", func() (http.Handler, error) { return newApp(env.Issuer, env.AppURL) }},
	}
	for _, b := range build {
		h, err := b.fn()
		if err != nil {
			return nil, err
		}
		handlers[b.name] = p.traced(b.name, h) // tracing.go; the auth server and the gateway trace themselves
	}
	gw, err := newGateway(ctx, p, gatewaySpec(env, cfg), eng)
	if err != nil {
		return nil, err
	}
	env.closers = append(env.closers, gw.Close)
	handlers["gateway"], handlers["gateway admin"] = gw.Handler(), gw.AdminHandler()

	for _, n := range names {
		if _, started := listeners[n.name]; started {
			serveOn(n.name, handlers[n.name])
		}
	}
	return env, nil
}

// engines are the in-memory or Redis implementations of the shared state.
type engines struct {
	rdb         redis.UniversalClient // nil: in memory
	revocations *revocation.List
	cache       cache.Backend
	limits      func(p ratelimit.Policy) (ratelimit.Limiter, error)
	describe    string
	closers     []func() error
}

func openEngines(ctx context.Context, cfg Config) (*engines, error) {
	e := &engines{}
	if cfg.RedisURL == "" {
		e.describe = "limits, revocation and cache: in memory"
		var err error
		if e.revocations, err = revocation.NewMemory(); err != nil {
			return nil, fmt.Errorf("demo: revocation list: %w", err)
		}
		mem, err := cache.NewMemory()
		if err != nil {
			return nil, fmt.Errorf("demo: cache: %w", err)
		}
		e.cache = mem
		e.limits = func(p ratelimit.Policy) (ratelimit.Limiter, error) { return ratelimit.NewMemory(p) }
		return e, nil
	}
	e.describe = "limits, revocation and cache: Redis"
	rdb, err := redisconn.Open(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("demo: --redis: %w", err)
	}
	e.rdb = rdb
	e.closers = append(e.closers, rdb.Close)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		e.close()
		return nil, fmt.Errorf("demo: --redis: Redis does not answer: %w", err)
	}
	list, err := redislist.New(rdb, redislist.WithPrefix(cfg.KeyPrefix+":revocation"))
	if err != nil {
		e.close()
		return nil, fmt.Errorf("demo: revocation list: %w", err)
	}
	e.revocations = list
	e.closers = append(e.closers, list.Close)
	backend, err := cache.NewRedis(rdb, cache.WithPrefix(cfg.KeyPrefix+":cache"))
	if err != nil {
		e.close()
		return nil, fmt.Errorf("demo: cache: %w", err)
	}
	e.cache = backend
	e.closers = append(e.closers, backend.Close)
	if err := list.WaitSynced(pctx); err != nil {
		e.close()
		return nil, fmt.Errorf("demo: revocation list did not sync with Redis: %w", err)
	}
	if err := backend.WaitSynced(pctx); err != nil {
		e.close()
		return nil, fmt.Errorf("demo: cache did not sync with Redis: %w", err)
	}
	e.limits = func(p ratelimit.Policy) (ratelimit.Limiter, error) {
		return ratelimit.NewRedis(rdb, p, ratelimit.WithPrefix(cfg.KeyPrefix+":ratelimit"))
	}
	return e, nil
}

func (e *engines) close() error {
	var errs []error
	for i := len(e.closers) - 1; i >= 0; i-- {
		if err := e.closers[i](); err != nil {
			errs = append(errs, err)
		}
	}
	e.closers = nil
	return errors.Join(errs...)
}

// server is one HTTP listener of the demo.
type server struct {
	name, addr string
	handler    http.Handler
	log        *slog.Logger
	tls        *tls.Config // mutual TLS, or nil for plain HTTP

	mu  sync.Mutex
	srv *http.Server
}

func (s *server) serve(l net.Listener) {
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	if s.tls != nil {
		l = tls.NewListener(l, s.tls)
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", "component", s.name, "error", err)
		}
	}()
}

// start listens again on the server's address after stop.
func (s *server) start() error {
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("demo: restart %s on %s: %w", s.name, s.addr, err)
	}
	s.serve(l)
	return nil
}

// stop closes the listener and shuts the server down gracefully: requests
// in flight get two seconds to finish.
func (s *server) stop() error {
	srv := s.take()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close() // connections that stayed busy or never sent a request
	}
	return nil
}

// kill stops the server at once, closing every connection, like a crash.
func (s *server) kill() error {
	if srv := s.take(); srv != nil {
		srv.Close()
	}
	return nil
}

func (s *server) take() *http.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.srv
	s.srv = nil
	return srv
}
