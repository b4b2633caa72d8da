package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/gateway"
)

// A deprecated key of the gateway section is logged as a warning with the
// file, the line and the key under gateway.
func TestGatewayWarningsLogged(t *testing.T) {
	cfg, err := gateway.ParseConfig("gatehouse.yaml", []byte(`
ratelimit:
  on_revocation_unavailable: open
routes:
  - {name: r, path: /, upstreams: ["http://127.0.0.1:1"], auth: none}
`))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	logGatewayWarnings(cfg, slog.New(slog.NewTextHandler(&buf, nil)))
	const want = "gatehouse.yaml:3: gateway.ratelimit.on_revocation_unavailable: deprecated: the key moved to revocation.on_unavailable"
	if got := buf.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, want) {
		t.Fatalf("log %q, want a warning with %q", got, want)
	}
}
