package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/demo"
	"github.com/gatehousehq/gatehouse/internal/telemetry"
	"github.com/gatehousehq/gatehouse/tracelog"
)

// demoFlags are the flags of 'gatehouse demo'.
type demoFlags struct {
	portBase    int
	data        string
	password    string
	redis       string
	postgres    string
	walkthrough bool
	verbose     bool
	otel        bool
}

func newDemoCmd(e *env) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the four sample scenarios end to end",
		Long: `Start, in this process on 127.0.0.1, the auth server (port base, default 9000;
its mutual-TLS listener on base+1), the gateway (base-920, default 8080; admin
and metrics on base-921, 8079) and
the sample services of the four scenarios (base+101..base+107: accounts, admin,
users, profiles, orders, payments, legacy) and the files of the browser app
(base+108, served by the gateway at /app/), then print a guide: open the app
(http://127.0.0.1:8080/app/) and log in as alice, or paste the curl commands.
Ctrl-C stops everything.

With --otel (or the standard OTEL_* variables, such as
OTEL_EXPORTER_OTLP_ENDPOINT) every request is one trace across the gateway,
the services and the auth server, exported over OTLP; see docs/observability.md.

The identity store is a SQLite file under --data (default ./gatehouse-demo,
not the ./gatehouse-data of 'gatehouse serve'), seeded with the organizations
acme and globex, the users alice (acme, group admin), bob (acme) and carol
(globex), and the clients cli, spa and one per service. Passwords and secrets
are random, printed at the first start and kept in the data folder, which the
next start reuses; --password sets one for all users (at least 8 characters,
none of the 10,000 most common). --redis and --postgres put limits,
revocation, cache and store in the real engines.

The demo writes only into a data folder it made: --data must be a new or
empty folder (the demo marks it with a .gatehouse-demo file) or one it marked
before. A folder with a real store, or anything else in it, is refused before
anything is written. Likewise the schema of --postgres must be empty (the demo
adds a gatehouse_demo table) or hold the gatehouse_demo table. 'gatehouse
serve' refuses a demo store.

With --walkthrough the demo runs every step of the scenarios itself, prints
one line per step and exits 0 only if every step behaved (1 otherwise).`,
		Example: `  gatehouse demo
  gatehouse demo --walkthrough --data /tmp/gh-demo --port-base 19000
  gatehouse demo --redis redis://127.0.0.1:6379/0 --postgres postgres://postgres@127.0.0.1:5432/demo`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.portBase, "port-base", demo.DefaultPortBase, "port of the auth server; every other port is a fixed offset from it (0: random free ports)")
	fl.StringVar(&f.data, "data", "./"+demo.DefaultData, "folder of the SQLite store and the generated secrets: new, empty, or made by the demo")
	fl.StringVar(&f.password, "password", "", "one password for all demo users, at least 8 characters (default: random, kept in the data folder)")
	fl.StringVar(&f.redis, "redis", "", "Redis URL for rate limits, revocation and cache (default: in memory)")
	fl.StringVar(&f.postgres, "postgres", "", "PostgreSQL URL for the identity store (default: SQLite under --data)")
	fl.BoolVar(&f.walkthrough, "walkthrough", false, "run every scenario step as a client, print the results and exit")
	fl.BoolVar(&f.verbose, "verbose", false, "log the components' warnings and errors to stderr")
	fl.BoolVar(&f.otel, "otel", false, "export traces over OTLP (default http://localhost:4318; the OTEL_* variables apply, and also turn it on)")
	return cmd
}

// runDemo runs the demo until ctx ends, or the walkthrough once.
func runDemo(ctx context.Context, e *env, f demoFlags) error {
	if f.password != "" {
		// The policy of every user password (identity/password_policy.go).
		if err := identity.CheckPassword(f.password); err != nil {
			return usagef("gatehouse demo: --password: %s", strings.TrimPrefix(err.Error(), "identity: "))
		}
	}
	level := slog.Level(100) // nothing
	if f.verbose {
		level = slog.LevelWarn
	}
	// OpenTelemetry before the components (telemetry.go): --otel or the
	// OTEL_* variables export traces.
	if _, err := setupTelemetry(ctx, telemetry.Config{Traces: f.otel}); err != nil {
		return usagef("gatehouse demo: %v", err)
	}
	cfg := demo.Config{PortBase: f.portBase, Data: f.data, Password: f.password, RedisURL: f.redis, PostgresURL: f.postgres,
		Logger: slog.New(tracelog.NewHandler(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))), Out: e.stdout}
	if !f.walkthrough {
		if err := demo.Run(ctx, cfg); err != nil {
			return usagef("gatehouse demo: %s", demoMessage(err))
		}
		return nil
	}
	env, err := demo.Start(ctx, cfg)
	if err != nil {
		return usagef("gatehouse demo: %s", demoMessage(err))
	}
	defer env.Close()
	fmt.Fprintf(e.stdout, "gatehouse demo --walkthrough: auth %s, gateway %s (%s)\n\n", env.Issuer, env.GatewayURL, env.Engines)
	if err := demo.Walkthrough(ctx, env, e.stdout); err != nil {
		if errors.Is(err, demo.ErrStepsFailed) {
			return invalidf("gatehouse demo: %s", demoMessage(err))
		}
		return usagef("gatehouse demo: %s", demoMessage(err))
	}
	return nil
}

// demoMessage is the text of an error of package demo without its package
// prefix, which the command's name replaces.
func demoMessage(err error) string { return strings.TrimPrefix(err.Error(), "demo: ") }
