package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gatehousehq/gatehouse/gateway"
	"github.com/gatehousehq/gatehouse/internal/config"
)

// Defaults of the gateway section's listeners.
const (
	defaultGatewayListen = "127.0.0.1:8080"
	defaultAdminListen   = "127.0.0.1:8079"
	// configPollInterval is how often serve looks at the file's mtime.
	configPollInterval = 2 * time.Second
)

// resolveGatewayEnv resolves the values the gateway section names by
// environment variable; its errors say "FILE:LINE: gateway.KEY: ...".
func resolveGatewayEnv(cfg *gateway.Config) error {
	err := cfg.ResolveEnv(os.LookupEnv)
	var ce *gateway.ConfigError
	if errors.As(err, &ce) {
		return &config.Error{Path: ce.Path, Line: ce.Line, Key: "gateway." + ce.Key, Reason: ce.Reason}
	}
	return err
}

// logGatewayWarnings logs what the gateway section loaded with but should
// change (deprecated keys), each as "FILE:LINE: gateway.KEY: ...".
func logGatewayWarnings(cfg *gateway.Config, log *slog.Logger) {
	for _, w := range cfg.Warnings() {
		log.Warn("configuration: "+(&config.Error{Path: w.Path, Line: w.Line, Key: "gateway." + w.Key, Reason: w.Reason}).Error(), "key", "gateway."+w.Key)
	}
}

// runningGateway is the gateway of 'gatehouse serve' with its listeners.
type runningGateway struct {
	gw     *gateway.Gateway
	srv    *http.Server
	admin  *http.Server
	served chan error
	wg     sync.WaitGroup
	shared *sharedState // serve_shared.go; nil without Redis
}

// startGateway builds the gateway of the gateway section (decoded and
// validated by internal/config) and serves it on the listeners of lns.
// stop (shutdown) must be called.
func startGateway(ctx context.Context, e *env, path, file string, cfg *gateway.Config, lns *listeners, log *slog.Logger) (*runningGateway, error) {
	if err := resolveGatewayEnv(cfg); err != nil {
		return nil, usagef("%s", err.Error())
	}
	logGatewayWarnings(cfg, log)
	reg := tel.NewRegistry() // with the OpenTelemetry metrics (telemetry.go)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Shared state (serve_shared.go): with ratelimit.backend redis, the
	// deny list on the same Redis client as the rate limits.
	shared, err := sharedForGateway(ctx, e, cfg, reg, log)
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	gw, err := gateway.New(ctx, cfg, shared.gatewayOptions(gateway.Options{Logger: log.With("component", "gateway"), Registerer: reg}))
	if err != nil {
		shared.close()
		var ce *gateway.ConfigError
		if errors.As(err, &ce) {
			return nil, usagef("%s", (&config.Error{Path: ce.Path, Line: ce.Line, Key: "gateway." + ce.Key, Reason: ce.Reason}).Error())
		}
		return nil, usagef("%s: gateway: %v", path, err)
	}
	ln := gw.Listener(lns.take(&lns.gw)) // limits.max_connections_per_ip
	rg := &runningGateway{gw: gw, srv: gw.NewServer(), served: make(chan error, 2), shared: shared}
	adminLn := lns.take(&lns.gwAdmin)
	if adminLn != nil {
		rg.admin = &http.Server{Handler: gw.AdminHandler(), ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout}
	}
	scheme := "http"
	if rg.srv.TLSConfig != nil {
		scheme = "https"
	}
	if adminLn != nil {
		fmt.Fprintf(e.stderr, "gatehouse: gateway listening on %s://%s (admin http://%s)\n", scheme, ln.Addr(), adminLn.Addr())
	} else {
		fmt.Fprintf(e.stderr, "gatehouse: gateway listening on %s://%s\n", scheme, ln.Addr())
	}
	go func() {
		if rg.srv.TLSConfig != nil {
			rg.served <- rg.srv.ServeTLS(ln, "", "")
		} else {
			rg.served <- rg.srv.Serve(ln)
		}
	}()
	if adminLn != nil {
		go func() { rg.served <- rg.admin.Serve(adminLn) }()
	}
	return rg, nil
}

// watch reloads the file on SIGHUP and when its mtime changes, until ctx
// ends, and applies its gateway section (see watchConfig).
func (rg *runningGateway) watch(ctx context.Context, file string, loaded time.Time, started *config.File, log *slog.Logger) {
	watchConfig(ctx, &rg.wg, file, loaded, func(ctx context.Context) (reloadReport, error) {
		return rg.reload(ctx, file, started, log)
	}, log)
}

// watchConfig calls reload on SIGHUP and when the file's mtime differs
// from loaded (its mtime when it was loaded at start, so that a change
// made while the servers started is seen too), until ctx ends, and logs
// its report: the sections applied, and those
// that changed but apply only at the next start. A file that does not
// load is logged with the reason and the running configuration stays.
func watchConfig(ctx context.Context, wg *sync.WaitGroup, file string, loaded time.Time, reload func(context.Context) (reloadReport, error), log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	wg.Go(func() {
		defer signal.Stop(hup)
		mtime := loaded
		tick := time.NewTicker(configPollInterval)
		defer tick.Stop()
		for {
			why := ""
			select {
			case <-ctx.Done():
				return
			case <-hup:
				why = "SIGHUP"
			case <-tick.C:
				m := modTime(file)
				if m.Equal(mtime) {
					continue
				}
				mtime, why = m, "file changed"
			}
			rep, err := reload(ctx)
			if err != nil {
				log.Error("configuration reload refused; the running configuration stays", "trigger", why, "reason", err.Error())
				continue
			}
			log.Info("configuration reloaded", "trigger", why, "file", file, "applied", rep.applied, "needs_restart", rep.restart)
			if len(rep.restart) > 0 {
				log.Warn("configuration reload: these sections changed and apply only at the next start of 'gatehouse serve'", "sections", rep.restart, "file", file)
			}
		}
	})
}

// reloadReport says which sections a reload applied and which changed but
// apply only at the next start.
type reloadReport struct {
	applied, restart []string
}

// needsRestart adds the sections of f that changed since the start and
// that a running process does not apply: authserver always, gateway when
// no gateway runs.
func (rep *reloadReport) needsRestart(started, f *config.File, gatewayRuns bool) {
	switch a, b := started.AuthServer, f.AuthServer; {
	case a == nil && b == nil:
	case a == nil || b == nil || !a.Equal(b):
		rep.restart = append(rep.restart, "authserver")
	}
	if !gatewayRuns && f.Gateway != nil {
		rep.restart = append(rep.restart, "gateway")
	}
}

// reloadAuthOnly is the reload of a process without a gateway: it checks
// the file and reports what would need a restart.
func reloadAuthOnly(file string, started *config.File) func(context.Context) (reloadReport, error) {
	return func(context.Context) (reloadReport, error) {
		var rep reloadReport
		f, err := config.Load(file)
		if err != nil {
			return rep, err
		}
		rep.needsRestart(started, f, false)
		return rep, nil
	}
}

func (rg *runningGateway) reload(ctx context.Context, file string, started *config.File, log *slog.Logger) (reloadReport, error) {
	var rep reloadReport
	f, err := config.Load(file)
	if err != nil {
		return rep, err
	}
	if f.Gateway == nil {
		return rep, fmt.Errorf("%s: the gateway section is gone; a running gateway stops only with the process", file)
	}
	if err := resolveGatewayEnv(f.Gateway); err != nil {
		return rep, err
	}
	if err := rg.gw.Reload(ctx, f.Gateway); err != nil {
		return rep, err
	}
	logGatewayWarnings(f.Gateway, log)
	rep.applied = []string{"gateway"}
	rep.needsRestart(started, f, true)
	return rep, nil
}

func modTime(file string) time.Time {
	fi, err := os.Stat(file)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// shutdown stops accepting, lets requests in flight finish (within ctx)
// and closes the gateway.
func (rg *runningGateway) shutdown(ctx context.Context, log *slog.Logger) {
	if err := rg.srv.Shutdown(ctx); err != nil {
		log.Warn("gateway: graceful shutdown did not finish in time; closing the remaining connections", "error", err)
		rg.srv.Close()
	}
	if rg.admin != nil {
		rg.admin.Shutdown(ctx)
	}
	rg.wg.Wait()
	rg.gw.Close()
	rg.shared.close() // serve_shared.go
}
