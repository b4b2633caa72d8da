// Command gatehouse runs the auth server, manages its users, clients and
// signing keys, and mints, verifies and decodes tokens. Run
// "gatehouse --help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"
)

func main() {
	// go-redis prints its own log lines (failed dials) to stderr in its own
	// format; gatehouse logs the loss and return of Redis itself, and the
	// admin commands promise one-line errors. Its logger is process-wide,
	// so it is set here, before anything runs (serve_shared.go).
	redis.SetLogger(quietRedisLog{})
	// SIGINT or SIGTERM cancels the commands' context: 'gatehouse serve'
	// then shuts down gracefully. A second signal gets the default
	// behaviour (the process ends at once).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	code := runEnv(ctx, &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, ownProcess: true}, os.Args[1:])
	stop()
	shutdownTelemetry() // telemetry.go
	os.Exit(code)
}
