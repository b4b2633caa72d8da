package demo

// Start brings the platform up on one machine: it binds every port, claims
// the data folder and the database, opens the engines and the store, seeds
// them, and starts the auth server, the sample services and the gateway.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/postgres"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/internal/tracing"
	"github.com/gatehousehq/gatehouse/keys"
)

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
