package demo

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/gateway"
	"github.com/gatehousehq/gatehouse/ratelimit"
)

// gatewayRoute is one route of the demo gateway.
type gatewayRoute struct {
	Name     string
	Path     string // prefix
	Upstream string
	Auth     bool // JWT check before routing
	// RateLimit per client_id, nil for none.
	RateLimit *ratelimit.Policy
	// CORSOrigins are the allowed origins; others get no CORS headers.
	CORSOrigins []string
	// MaxBody bounds request bodies (413 above it); 0 means the gateway
	// default.
	MaxBody int64
}

// gatewayConfig is the demo's gateway configuration: the gateway YAML
// (gatewayYAML renders it) and the stand-in read the same values.
type gatewayConfig struct {
	Listen, AdminListen string
	Issuer, Audience    string
	// Redis selects the Redis rate limit backend (the client is passed to
	// gateway.New), with keys under KeyPrefix.
	Redis     bool
	KeyPrefix string
	// ExternalURL is the gateway's URL as clients call it: DPoP proofs
	// (RFC 9449) name it with the request's path (gateway.dpop).
	ExternalURL string
	Routes      []gatewayRoute
}

// The gateway's per-client limit on the orders routes (scenario 003): a burst
// of 20 requests, refilled at 10 per second.
var ordersLimit = ratelimit.Policy{Name: "orders", ReplenishRate: 10, BurstCapacity: 20}

// ordersMaxBody is the orders routes' request size limit.
const ordersMaxBody = 64 << 10

// gatewaySpec returns the gateway configuration for env.
func gatewaySpec(env *Env, cfg Config) gatewayConfig {
	limit := ordersLimit
	return gatewayConfig{
		Redis: cfg.RedisURL != "", KeyPrefix: cfg.KeyPrefix,
		Listen:      strings.TrimPrefix(env.GatewayURL, "http://"),
		AdminListen: strings.TrimPrefix(env.AdminURL, "http://"),
		Issuer:      env.Issuer, Audience: apiAudience, ExternalURL: env.GatewayURL,
		Routes: []gatewayRoute{
			{Name: "accounts", Path: "/api/accounts", Upstream: env.Services["accounts"], Auth: true},
			{Name: "users", Path: "/api/users/", Upstream: env.Services["users"], Auth: true},
			{Name: "orders", Path: "/api/orders", Upstream: env.Services["orders"], Auth: true,
				RateLimit: &limit, CORSOrigins: []string{env.GatewayURL}, MaxBody: ordersMaxBody},
			// The browser app's files: public, no token to check or pass on.
			{Name: "app", Path: "/app/", Upstream: env.Services["app"]},
		},
	}
}

// gatewayYAML renders the gateway configuration as YAML: the gateway section
// of a gatehouse.yaml for the demo, in the keys of package gateway. (Written
// out rather than with text/template, whose execution keeps every exported
// method of the binary's types alive in the linker.)
func gatewayYAML(cfg gatewayConfig) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "gateway:\n  listen: %s\n  admin_listen: %s\n  access_log: true\n", cfg.Listen, cfg.AdminListen)
	b.WriteString("  limits: {max_body_bytes: 1048576, read_header_timeout: 5s, upstream_timeout: 10s}\n")
	replay := "memory"
	if cfg.Redis {
		fmt.Fprintf(&b, "  ratelimit: {backend: redis, prefix: %q, on_redis_error: open}\n", cfg.KeyPrefix+":ratelimit")
		replay = "redis"
	} else {
		b.WriteString("  ratelimit: {backend: memory}\n")
	}
	fmt.Fprintf(&b, "  issuers:\n    - name: main\n      issuer: %s\n      audiences: [%s]\n", cfg.Issuer, cfg.Audience)
	fmt.Fprintf(&b, "  dpop: {external_url: %q, replay: %s}\n  routes:\n", cfg.ExternalURL, replay)
	for _, r := range cfg.Routes {
		auth, downstream := "none", "strip"
		if r.Auth {
			auth, downstream = "jwt", "relay"
		}
		fmt.Fprintf(&b, "    - name: %s\n      path: %s\n      upstreams: [%s]\n", r.Name, r.Path, r.Upstream)
		fmt.Fprintf(&b, "      health_check: {path: /healthz, interval: 5s}\n      auth: %s\n      downstream: %s\n", auth, downstream)
		if r.RateLimit != nil {
			fmt.Fprintf(&b, "      rate_limit: {key: client_id, replenish_rate: %v, burst_capacity: %v, requested_tokens: 1}\n",
				r.RateLimit.ReplenishRate, r.RateLimit.BurstCapacity)
		}
		if len(r.CORSOrigins) > 0 {
			origins := make([]string, len(r.CORSOrigins))
			for i, o := range r.CORSOrigins {
				origins[i] = strconv.Quote(o)
			}
			fmt.Fprintf(&b, "      cors: {allowed_origins: [%s], allowed_methods: [GET, POST, DELETE], "+
				"allowed_headers: [Authorization, Content-Type, DPoP], max_age: 10m}\n", strings.Join(origins, ", "))
		}
		if r.MaxBody != 0 {
			fmt.Fprintf(&b, "      max_body_bytes: %d\n", r.MaxBody)
		}
	}
	return []byte(b.String())
}

// newGateway builds the demo's gateway from the YAML of cfg, exactly as
// `gatehouse serve` would from a gatehouse.yaml.
func newGateway(ctx context.Context, p *platform, cfg gatewayConfig, eng *engines) (*gateway.Gateway, error) {
	gc, err := gateway.ParseConfig("demo-gateway.yaml", gatewayYAML(cfg))
	if err != nil {
		return nil, fmt.Errorf("demo: gateway configuration: %w", err)
	}
	opts := gateway.Options{Logger: p.log.With("component", "gateway"), Revoker: p.revoker,
		HTTPClient: &http.Client{Transport: p.base, Timeout: 10 * time.Second}, TracerProvider: p.tp}
	if eng.rdb != nil {
		opts.Redis = eng.rdb
	}
	g, err := gateway.New(ctx, gc, opts)
	if err != nil {
		return nil, fmt.Errorf("demo: gateway: %w", err)
	}
	return g, nil
}
