package demo

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"text/template"
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

// gatewayYAMLTemplate is the gateway section of a gatehouse.yaml for the
// demo, in the keys of package gateway.
var gatewayYAMLTemplate = template.Must(template.New("gateway").Parse(`gateway:
  listen: {{.Listen}}
  admin_listen: {{.AdminListen}}
  access_log: true
  limits: {max_body_bytes: 1048576, read_header_timeout: 5s, upstream_timeout: 10s}
{{- if .Redis}}
  ratelimit: {backend: redis, prefix: "{{.KeyPrefix}}:ratelimit", on_redis_error: open}
{{- else}}
  ratelimit: {backend: memory}
{{- end}}
  issuers:
    - name: main
      issuer: {{.Issuer}}
      audiences: [{{.Audience}}]
  dpop: {external_url: "{{.ExternalURL}}", replay: {{if .Redis}}redis{{else}}memory{{end}}}
  routes:
{{- range .Routes}}
    - name: {{.Name}}
      path: {{.Path}}
      upstreams: [{{.Upstream}}]
      health_check: {path: /healthz, interval: 5s}
      auth: {{if .Auth}}jwt{{else}}none{{end}}
      downstream: {{if .Auth}}relay{{else}}strip{{end}}
{{- if .RateLimit}}
      rate_limit: {key: client_id, replenish_rate: {{.RateLimit.ReplenishRate}}, burst_capacity: {{.RateLimit.BurstCapacity}}, requested_tokens: 1}
{{- end}}
{{- if .CORSOrigins}}
      cors: {allowed_origins: [{{range $i, $o := .CORSOrigins}}{{if $i}}, {{end}}"{{$o}}"{{end}}], allowed_methods: [GET, POST, DELETE], allowed_headers: [Authorization, Content-Type, DPoP], max_age: 10m}
{{- end}}
{{- if .MaxBody}}
      max_body_bytes: {{.MaxBody}}
{{- end}}
{{- end}}
`))

// gatewayYAML renders the gateway configuration as YAML.
func gatewayYAML(cfg gatewayConfig) ([]byte, error) {
	var b bytes.Buffer
	if err := gatewayYAMLTemplate.Execute(&b, cfg); err != nil {
		return nil, fmt.Errorf("demo: gateway YAML: %w", err)
	}
	return b.Bytes(), nil
}

// newGateway builds the demo's gateway from the YAML of cfg, exactly as
// `gatehouse serve` would from a gatehouse.yaml.
func newGateway(ctx context.Context, p *platform, cfg gatewayConfig, eng *engines) (*gateway.Gateway, error) {
	y, err := gatewayYAML(cfg)
	if err != nil {
		return nil, err
	}
	gc, err := gateway.ParseConfig("demo-gateway.yaml", y)
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
