package gateway

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/strictyaml"
)

// ratelimit.on_revocation_unavailable moved to revocation.on_unavailable:
// the new key loads without a warning; the old one loads the same value
// with a warning that names its line and the new key; both at once, or
// a bad value under the old key, are refused with the old key's line.
func TestRevocationOnUnavailableMoved(t *testing.T) {
	const route = "routes:\n  - {name: r, path: /, upstreams: [\"http://127.0.0.1:1\"], auth: none}\n"
	t.Run("new key", func(t *testing.T) {
		cfg, err := ParseConfig("g.yaml", []byte("revocation: {on_unavailable: open}\n"+route))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Revocation.OnUnavailable != "open" || len(cfg.Warnings()) != 0 {
			t.Fatalf("on_unavailable %q, warnings %v", cfg.Revocation.OnUnavailable, cfg.Warnings())
		}
	})
	t.Run("old key", func(t *testing.T) {
		yml := "listen: 127.0.0.1:0\nratelimit:\n  backend: memory\n  on_revocation_unavailable: open\n" + route
		cfg, err := ParseConfig("g.yaml", []byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Revocation.OnUnavailable != "open" {
			t.Fatalf("on_unavailable %q, want open", cfg.Revocation.OnUnavailable)
		}
		ws := cfg.Warnings()
		if len(ws) != 1 {
			t.Fatalf("warnings %v, want one", ws)
		}
		const want = "g.yaml:4: ratelimit.on_revocation_unavailable: deprecated: the key moved to revocation.on_unavailable"
		if !strings.HasPrefix(ws[0].Error(), want) {
			t.Fatalf("warning %q, want it to start with %q", ws[0], want)
		}
		if cfg.RateLimit.Backend != "memory" {
			t.Fatalf("the rest of ratelimit was lost: %+v", cfg.RateLimit)
		}
		// The node the caller passed is not changed: decoding it again
		// finds the old key again.
		n, err := strictyaml.ParseDocument("g.yaml", []byte(yml))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			cfg, err := DecodeConfig("g.yaml", n)
			if err != nil || cfg.Revocation.OnUnavailable != "open" || len(cfg.Warnings()) != 1 {
				t.Fatalf("decoding the node again: %v, %+v, %v", err, cfg.Revocation, cfg.Warnings())
			}
		}
	})
	for _, tc := range []struct{ name, yml, want string }{
		{"both", "ratelimit: {on_revocation_unavailable: open}\nrevocation:\n  on_unavailable: closed\n" + route,
			"g.yaml:1: ratelimit.on_revocation_unavailable: deprecated, and given as revocation.on_unavailable too (line 3)"},
		{"bad old value", "ratelimit:\n  on_revocation_unavailable: maybe\n" + route,
			`g.yaml:2: ratelimit.on_revocation_unavailable: "maybe": use closed or open`},
		{"old value not text", "ratelimit:\n  on_revocation_unavailable: [open]\n" + route,
			"g.yaml:2: ratelimit.on_revocation_unavailable: must be closed or open; the key is deprecated too: write revocation.on_unavailable instead"},
		{"bad new value", "revocation:\n  on_unavailable: maybe\n" + route,
			`g.yaml:2: revocation.on_unavailable: "maybe": use closed or open`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig("g.yaml", []byte(tc.yml))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *ConfigError", err)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to start with %q", err, tc.want)
			}
		})
	}
}
