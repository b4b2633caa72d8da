package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"gopkg.in/yaml.v3"

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

// gatewayConfigOf decodes the gateway section of the file and resolves
// the values it names by environment variable.
func gatewayConfigOf(file string, node *yaml.Node) (*gateway.Config, error) {
	cfg, err := gateway.DecodeConfig(file, node)
	if err != nil {
		return nil, err
	}
	if err := cfg.ResolveEnv(os.LookupEnv); err != nil {
		return nil, err
	}
	return cfg, nil
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

// startGateway builds the gateway of the gateway section, binds its
// listeners and serves them. stop (shutdown) must be called.
func startGateway(ctx context.Context, e *env, path, file string, node *yaml.Node, log *slog.Logger) (*runningGateway, error) {
	cfg, err := gatewayConfigOf(file, node)
	if err != nil {
		return nil, usagef("%s", err.Error())
	}
	reg := prometheus.NewRegistry()
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
			return nil, usagef("%s", ce.Error())
		}
		return nil, usagef("%s: gateway: %v", path, err)
	}
	addr := cfg.Listen
	if addr == "" {
		addr = defaultGatewayListen
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		gw.Close()
		return nil, listenError(path, addr, err)
	}
	rg := &runningGateway{gw: gw, srv: gw.NewServer(), served: make(chan error, 2), shared: shared}
	adminAddr := cfg.AdminListen
	if adminAddr == "" {
		adminAddr = defaultAdminListen
	}
	var adminLn net.Listener
	if adminAddr != "-" {
		if adminLn, err = (&net.ListenConfig{}).Listen(ctx, "tcp", adminAddr); err != nil {
			ln.Close()
			gw.Close()
			return nil, listenError(path, adminAddr, err)
		}
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

// watch reloads the gateway section on SIGHUP and when the file's mtime
// changes, until ctx ends. A file that does not load is logged with the
// reason and the running configuration stays.
func (rg *runningGateway) watch(ctx context.Context, file string, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	rg.wg.Go(func() {
		defer signal.Stop(hup)
		mtime := modTime(file)
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
			if err := rg.reload(ctx, file); err != nil {
				log.Error("configuration reload refused; the running configuration stays", "trigger", why, "reason", err.Error())
				continue
			}
			log.Info("configuration reloaded", "trigger", why, "file", file)
		}
	})
}

func (rg *runningGateway) reload(ctx context.Context, file string) error {
	f, err := config.Load(file)
	if err != nil {
		return err
	}
	if f.Gateway == nil {
		return fmt.Errorf("%s: the gateway section is gone; a running gateway stops only with the process", file)
	}
	cfg, err := gatewayConfigOf(file, &f.Gateway.Node)
	if err != nil {
		return err
	}
	return rg.gw.Reload(ctx, cfg)
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
