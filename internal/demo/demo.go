package demo

// The demo's configuration and the running demo: Config, Env (its
// addresses, credentials and walkthrough switches, and Close) and Run.
// Start, which brings the platform up, is in start.go; the shared-state
// engines are in engines.go and each HTTP listener is a server (server.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehousehq/gatehouse/identity"
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
