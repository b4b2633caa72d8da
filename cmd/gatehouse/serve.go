package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/internal/bodyread"
	"github.com/gatehousehq/gatehouse/internal/config"
	"github.com/gatehousehq/gatehouse/internal/connlimit"
	"github.com/gatehousehq/gatehouse/internal/telemetry"
	"github.com/gatehousehq/gatehouse/tracelog"
)

// Limits of the HTTP server of 'gatehouse serve'.
const (
	defaultListen     = "127.0.0.1:9000"
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	shutdownTimeout   = 10 * time.Second
	// The auth server's defaults of authserver.limits: a request body
	// that sends nothing for 10s, or takes 30s in all, is cut; one
	// address holds at most 256 connections.
	authBodyIdleTimeout     = 10 * time.Second
	authBodyTimeout         = 30 * time.Second
	authMaxConnectionsPerIP = 256
)

func newServeCmd(e *env) *cobra.Command {
	var file string
	var releasePages bool
	cmd := &cobra.Command{
		Use:   "serve --config FILE",
		Short: "Run the auth server and/or the API gateway of a gatehouse.yaml",
		Long: `Run the OAuth 2.0 / OpenID Connect auth server of the authserver section of
the configuration file. At start it opens the store (authserver.data, a
folder for the embedded SQLite file, default gatehouse-data next to the
file; or authserver.store, a postgres:// URL), logs which store it opened,
writes the organizations, users and
clients of the file into it (passwords and secrets are stored as argon2id
hashes; a user keeps its ID, and stays disabled if 'gatehouse user disable'
disabled it), and listens on authserver.listen (default 127.0.0.1:9000).
Entries removed from the file stay in the store; a client that 'gatehouse
client delete' removed comes back if the file still lists it. A store that
'gatehouse demo' made (a .gatehouse-demo file in the folder, a gatehouse_demo
table in the schema) is refused. The signing keys are sealed in the store
under the secret of authserver.key_encryption (an environment variable or a
file); without it they are stored in clear, with a warning at every start,
and a store whose keys are sealed refuses to start without the secret it
names. User passwords need at least 8 characters
and must not be among the 10,000 most common. SIGINT or SIGTERM stops it
gracefully.

A minimal file:

  authserver:
    issuer: http://127.0.0.1:9000
    clients:
      - id: svc-accounts
        secret_env: SVC_ACCOUNTS_SECRET
        grants: [client_credentials]
        audiences: [accounts]

The gateway section runs the API gateway (see docs/gateway.md and
examples/gateway.yaml) on gateway.listen (default 127.0.0.1:8080), with
/metrics, /healthz and /readyz on gateway.admin_listen (default
127.0.0.1:8079). One process may serve both sections. The gateway section is
reloaded on SIGHUP and when the file changes (checked every 2s), without
dropping requests in flight; the log says which sections a reload applied
and which (authserver) need a restart. A file that does not load is refused
with the reason in the log, and the running configuration stays.

Every listener is bound before the store is opened or written; a port in
use fails with the key that holds it. Relative paths in the file start at
the file's folder. Every key is in docs/configuration.md (and a JSON Schema
for editors in docs/gatehouse.schema.json).

A bad file fails at start with "FILE:LINE: key: what is wrong and what to
write", such as "gatehouse.yaml:7: authserver.access_token_ttl: 30 is not a
duration: write 30s ...". Logs are JSON on stderr.

Once every listener serves, on Linux, the process gives the kernel back the
pages of its binary that only the start touched: the binary links the auth
server, both stores and the gateway, and starting touches nearly all of it.
The kernel then reads the binary one page at a time as it is used, without
readahead; the log line "start-up pages of the binary released" says how
much resident memory that freed. --release-start-pages=false keeps them.`,
		Example: `  gatehouse serve --config gatehouse.yaml`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd, e, file, releasePages)
		},
	}
	cmd.Flags().StringVar(&file, "config", "gatehouse.yaml", "the configuration file")
	cmd.Flags().BoolVar(&releasePages, "release-start-pages", true, "once serving, give the kernel back the pages of the binary that only the start used (Linux; false keeps them resident)")
	return cmd
}

// serve runs the auth server and/or the gateway of the file until the
// command's context is cancelled; releasePages is --release-start-pages.
func serve(cmd *cobra.Command, e *env, file string, releasePages bool) error {
	ctx, path := cmd.Context(), cmd.CommandPath()
	loaded := modTime(file) // before the load: a later change is reloaded
	f, err := loadConfig(cmd, file)
	if err != nil {
		return err
	}
	if f.AuthServer == nil && f.Gateway == nil {
		return usagef("%s: %s has neither an authserver nor a gateway section: nothing to serve", path, file)
	}
	// OpenTelemetry from the OTEL_* variables, before any component is
	// built (telemetry.go); log lines inside a span carry its ids.
	if _, err := setupTelemetry(ctx, telemetry.Config{}); err != nil {
		return usagef("%s: %v", path, err)
	}
	handler := tracelog.NewHandler(slog.NewJSONHandler(e.stderr, nil))
	log := slog.New(handler)

	// Every listener is bound before anything is created or seeded: a
	// port in use fails the start with the key that holds it, and leaves
	// no store behind.
	lns, err := bindListeners(ctx, path, f)
	if err != nil {
		return err
	}
	defer lns.close() // those not handed to a server

	var auth *runningAuthServer
	if f.AuthServer != nil {
		if auth, err = startAuthServer(ctx, e, path, file, f.AuthServer, lns, log, handler); err != nil {
			return err
		}
		defer auth.close()
	}
	var gw *runningGateway
	if f.Gateway != nil {
		if gw, err = startGateway(ctx, e, path, file, f.Gateway, lns, log); err != nil {
			if auth != nil {
				auth.shutdown(log)
			}
			return err
		}
		gw.watch(ctx, file, loaded, f, log)
	} else {
		// Without a gateway nothing applies at reload, but SIGHUP and a
		// changed file still get their report (and SIGHUP does not end
		// the process).
		var wg sync.WaitGroup
		defer wg.Wait()
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		watchConfig(wctx, &wg, file, loaded, reloadAuthOnly(file, f), log)
	}

	if releasePages && e.ownProcess {
		go releaseStartPages(log) // startpages.go
	}

	var authServed, gwServed chan error
	if auth != nil {
		authServed = auth.served
	}
	if gw != nil {
		gwServed = gw.served
	}
	var failure error
	select {
	case err := <-authServed:
		failure = usagef("%s: the auth server stopped: %v", path, err)
	case err := <-gwServed:
		failure = usagef("%s: the gateway stopped: %v", path, err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", shutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if gw != nil {
		gw.shutdown(sctx, log)
	}
	if auth != nil {
		auth.shutdown(log)
	}
	return failure
}

// runningAuthServer is the auth server of 'gatehouse serve'.
type runningAuthServer struct {
	hs      *http.Server
	mtls    *http.Server // nil without authserver.mtls (serve_mtls.go)
	admin   *http.Server // nil without authserver.admin_listen
	served  chan error
	stopped bool
	close   func()
}

// startAuthServer opens the store, seeds it from the file, and serves the
// auth server of the authserver section on the listeners of lns.
func startAuthServer(ctx context.Context, e *env, path, file string, a *config.AuthServer, lns *listeners, log *slog.Logger, handler slog.Handler) (_ *runningAuthServer, err error) {
	at := func(line int, key, format string, args ...any) error {
		return usagef("%s", (&config.Error{Path: file, Line: line, Key: key, Reason: fmt.Sprintf(format, args...)}).Error())
	}
	alg := a.Algorithm // parsed by the loader
	var legacy *authserver.LegacySessions
	if l := a.Legacy; l != nil {
		secret, err := l.Secret.Resolve()
		if err != nil {
			return nil, at(l.Line, "authserver.legacy", "%v", err)
		}
		legacy = &authserver.LegacySessions{IntrospectionURL: l.IntrospectionURL, ClientID: l.ClientID, ClientSecret: secret, TokenType: l.TokenType}
	}
	sd, err := seedOf(file, a)
	if err != nil {
		return nil, usagef("%s", err.Error())
	}
	sealer, err := keySealerOf(file, a) // keys_seal.go
	if err != nil {
		return nil, err
	}
	mtls, err := mtlsOf(file, a) // serve_mtls.go
	if err != nil {
		return nil, err
	}

	limits := authLimits(a.Limits)
	ln := authListener(lns.take(&lns.auth), limits)
	var closers []func()
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	closers = append(closers, func() { ln.Close() })
	defer func() {
		if err != nil {
			closeAll()
		}
	}()

	loc := locationOf(a)
	if err := refuseDemoStore(ctx, path, loc); err != nil { // demostore.go
		return nil, err
	}
	st, err := openSealedStore(ctx, loc, true, sealer)
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	closers = append(closers, func() { st.Close() })
	log.Info("identity store opened", "component", "authserver", "store", loc.String())
	logKeySealing(ctx, log, st, sealer, loc)
	if err := sd.apply(ctx, st); err != nil {
		return nil, usagef("%s: cannot write the users and clients of %s to the store at %s: %v", path, file, loc, err)
	}
	// Shared state (serve_shared.go): with authserver.redis, the identity
	// cache and the revocation list shared with other processes
	// (other instances see the seeding above within the cache TTL, 30s).
	shared, st, pub, err := sharedForAuthServer(ctx, a, st, log)
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	closers = append(closers, shared.close)
	replay, err := shared.assertionReplay() // nil without Redis
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	proofs, err := dpopOf(file, a, shared, loc, log) // serve_dpop.go
	if err != nil {
		return nil, err
	}

	argonSlots, argonQueue := argon2Of(a.Argon2) // serve_throttle.go
	srv, err := authserver.New(ctx, authserver.Config{
		Issuer: a.Issuer, Store: st, AccessTokenTTL: a.AccessTokenTTL, RefreshTokenTTL: a.RefreshTokenTTL,
		RefreshTokenGrace: a.RefreshTokenGrace,
		SigningAlgorithm:  alg, Legacy: legacy, Logger: log,
		Revocations: pub, // shared state, see serve_shared.go
		DenyList:    e.processDenyList(),
		Throttle:    throttleOf(a.LoginThrottle), ClientThrottle: throttleOf(a.ClientAuthThrottle),
		Argon2Concurrency: argonSlots, Argon2Queue: argonQueue,
		AssertionReplay: replay, // private_key_jwt jtis across instances (serve_shared.go)
		MTLSURL:         mtls.url(), MTLSClientCAs: mtls.clientCAs(), RequirePAR: a.RequirePAR,
		DPoP: proofs, // serve_dpop.go
	})
	if ke := keySealFailure(file, a, sealer, err); ke != nil {
		return nil, ke // a signing key that does not open: the key, and what to set
	}
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	hs := &http.Server{
		// Bodies are bounded by progress (bodyread), not by a ReadTimeout
		// from the request's first byte.
		Handler:           bodyread.Handler(srv.Handler(), bodyread.Limits{Idle: limits.BodyIdleTimeout, Total: limits.BodyTimeout}),
		ReadHeaderTimeout: readHeaderTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}

	// The admin listener (authserver.admin_listen): /metrics, /healthz, /readyz.
	var admin *http.Server
	if aln := lns.take(&lns.authAdmin); aln != nil {
		if admin, err = startAuthAdmin(aln, srv, shared, handler); err != nil {
			aln.Close()
			return nil, usagef("%s: %v", path, err)
		}
		closers = append(closers, func() { admin.Close() })
	}

	// The listener is bound: connections wait in its queue until Serve
	// takes them, so the server is ready. Printed before anything else may
	// write to stderr.
	fmt.Fprintf(e.stderr, "gatehouse: auth server listening on http://%s (issuer %s)\n", ln.Addr(), a.Issuer)

	var wg sync.WaitGroup
	pctx, stopPrune := context.WithCancel(ctx)
	wg.Go(func() { prune(pctx, st, log) })
	// The pruner is done before the store closes.
	closers = append(closers, func() { stopPrune(); wg.Wait() })

	r := &runningAuthServer{hs: hs, admin: admin, served: make(chan error, 2), close: closeAll}
	if mln := lns.take(&lns.authMTLS); mln != nil {
		var mtlsServed chan error
		r.mtls, mtlsServed = mtls.serve(mln, srv, limits, log, handler)
		fmt.Fprintf(e.stderr, "gatehouse: auth server mutual-TLS listener on https://%s (%s)\n", mln.Addr(), mtls.url())
		go func() { r.served <- <-mtlsServed }()
	}
	go func() { r.served <- hs.Serve(ln) }()
	return r, nil
}

// authLimits is authserver.limits with the defaults filled in.
func authLimits(l *config.ServerLimits) config.ServerLimits {
	var out config.ServerLimits
	if l != nil {
		out = *l
	}
	if out.BodyIdleTimeout == 0 {
		out.BodyIdleTimeout = authBodyIdleTimeout
	}
	if out.BodyTimeout == 0 {
		out.BodyTimeout = authBodyTimeout
	}
	if out.MaxConnectionsPerIP == 0 {
		out.MaxConnectionsPerIP = authMaxConnectionsPerIP
	}
	return out
}

// authListener bounds the connections per client address of the auth
// server's listener (authserver.limits.max_connections_per_ip; IPv6 peers
// by their /64). The auth server has no trusted proxies: the peer is the
// client.
func authListener(ln net.Listener, l config.ServerLimits) net.Listener {
	return connlimit.NewListener(ln, connlimit.Config{MaxPerAddr: l.MaxConnectionsPerIP, IPv6PrefixBits: 64})
}

// shutdown stops the auth server gracefully; close releases the store.
func (r *runningAuthServer) shutdown(log *slog.Logger) {
	if r.stopped {
		return
	}
	r.stopped = true
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, hs := range []*http.Server{r.hs, r.mtls} {
		if hs == nil {
			continue
		}
		if err := hs.Shutdown(sctx); err != nil {
			log.Warn("graceful shutdown did not finish in time; closing the remaining connections", "error", err)
			hs.Close()
		}
	}
	shutdownAdmin(sctx, r.admin)
}

// listeners are the listeners of one 'gatehouse serve', bound before
// anything else starts.
type listeners struct {
	auth, authAdmin, authMTLS, gw, gwAdmin net.Listener
}

// bindListeners binds every listener the file configures: authserver.listen
// and admin_listen, gateway.listen and admin_listen. A failure closes those
// already bound and names the key of the address that failed.
func bindListeners(ctx context.Context, path string, f *config.File) (_ *listeners, err error) {
	l := &listeners{}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	bind := func(dst *net.Listener, key, addr, def string) error {
		given := addr != ""
		if !given {
			addr = def
		}
		if addr == "" || addr == "-" {
			return nil
		}
		ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
		if err != nil {
			return listenError(path, f, key, addr, given, err)
		}
		*dst = ln
		return nil
	}
	if a := f.AuthServer; a != nil {
		if err := bind(&l.auth, "authserver.listen", a.Listen, defaultListen); err != nil {
			return nil, err
		}
		if err := bind(&l.authAdmin, "authserver.admin_listen", a.AdminListen, ""); err != nil {
			return nil, err
		}
		if m := a.MTLS; m != nil {
			if err := bind(&l.authMTLS, "authserver.mtls.listen", m.Listen, ""); err != nil {
				return nil, err
			}
		}
	}
	if g := f.Gateway; g != nil {
		if err := bind(&l.gw, "gateway.listen", g.Listen, defaultGatewayListen); err != nil {
			return nil, err
		}
		if err := bind(&l.gwAdmin, "gateway.admin_listen", g.AdminListen, defaultAdminListen); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// take hands the listener *p over to its server (nil when not bound).
func (l *listeners) take(p *net.Listener) net.Listener {
	ln := *p
	*p = nil
	return ln
}

// close closes the listeners not taken.
func (l *listeners) close() {
	for _, ln := range []net.Listener{l.auth, l.authAdmin, l.authMTLS, l.gw, l.gwAdmin} {
		if ln != nil {
			ln.Close()
		}
	}
	*l = listeners{}
}

// listenError explains why addr, the value of key in the file (given) or
// its default, cannot be listened on: "FILE:LINE: key: cannot listen on
// ADDR: the address is already in use; ... set key to another address".
func listenError(path string, f *config.File, key, addr string, given bool, err error) error {
	var what string
	if errors.Is(err, syscall.EADDRINUSE) {
		what = fmt.Sprintf("cannot listen on %s: the address is already in use; stop the other process or set %s to another address", addr, key)
	} else {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Err != nil {
			err = oe.Err
		}
		what = fmt.Sprintf("cannot listen on %s: %v", addr, err)
	}
	if !given {
		what += fmt.Sprintf(" (%s is the default of %s)", addr, key)
	}
	if f.Line(key) == 0 {
		return usagef("%s: %s: %s", path, key, what)
	}
	return usagef("%s", (&config.Error{Path: f.Path, Line: f.Line(key), Key: key, Reason: what}).Error())
}
