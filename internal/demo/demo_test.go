package demo

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"testing"
	"time"
)

// startDemo starts the demo on random ports with a fresh data folder.
func startDemo(t *testing.T, cfg Config) *Env {
	t.Helper()
	if cfg.Data == "" {
		cfg.Data = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return env
}

// runWalkthrough runs the walkthrough and fails the test on any step.
func runWalkthrough(t *testing.T, env *Env) {
	t.Helper()
	var out bytes.Buffer
	err := Walkthrough(t.Context(), env, &out)
	t.Logf("walkthrough:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
}

func TestWalkthrough(t *testing.T) {
	t.Parallel()
	env := startDemo(t, Config{Logger: testLogger(t)})
	runWalkthrough(t, env)
}

func testLogger(t *testing.T) *slogLogger {
	if os.Getenv("DEMO_TEST_LOG") == "" {
		return nil
	}
	return newTestLogger(t)
}

func newTestClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }
