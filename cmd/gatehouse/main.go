// Command gatehouse runs the auth server, manages its users, clients and
// signing keys, and mints, verifies and decodes tokens. Run
// "gatehouse --help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGINT or SIGTERM cancels the commands' context: 'gatehouse serve'
	// then shuts down gracefully. A second signal gets the default
	// behaviour (the process ends at once).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	code := runContext(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
