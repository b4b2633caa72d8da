package main

import (
	"context"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse/internal/telemetry"
)

// OpenTelemetry is set up once per process, by the first command that
// serves (serve, demo), from the OTEL_* variables (package
// internal/telemetry): its providers are the globals every component of
// the process uses, so a second setup (tests run several commands in one
// process) would cut the first one's instruments off. main flushes it
// when the command returns.
var (
	telOnce sync.Once
	tel     *telemetry.Telemetry // nil until set up: NewRegistry then gives plain registries
	telErr  error
)

// setupTelemetry sets up OpenTelemetry with cfg, or returns the process'
// existing setup.
func setupTelemetry(ctx context.Context, cfg telemetry.Config) (*telemetry.Telemetry, error) {
	telOnce.Do(func() { tel, telErr = telemetry.Setup(ctx, cfg) })
	return tel, telErr
}

// shutdownTelemetry flushes the spans and metrics not yet exported, within
// 5 seconds.
func shutdownTelemetry() {
	if tel == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tel.Shutdown(ctx)
}
