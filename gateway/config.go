package gateway

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/internal/strictyaml"
)

// Defaults of the gateway section.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultMaxHeaderBytes    = 32 << 10
	DefaultMaxURLLength      = 8192
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultUpstreamTimeout   = 30 * time.Second
	DefaultMaxConcurrent     = 1000
	DefaultHSTSMaxAge        = 365 * 24 * time.Hour
	DefaultPassiveFailures   = 3
	DefaultPassiveCooldown   = 10 * time.Second
	DefaultHealthInterval    = 5 * time.Second
	// DefaultBodyIdleTimeout: a request body that sends nothing for
	// this long is cut (408).
	DefaultBodyIdleTimeout = 10 * time.Second
	// DefaultBodyTimeout: a request body not read whole in this time,
	// counted from the end of the headers, is cut (408).
	DefaultBodyTimeout = 60 * time.Second
	// DefaultMaxConnectionsPerIP bounds the connections one client
	// address holds open on the proxy listener.
	DefaultMaxConnectionsPerIP = 256
)

// MaxConfigBytes bounds a gateway section given to ParseConfig.
const MaxConfigBytes = 1 << 20

// Config is the `gateway:` section of gatehouse.yaml. ParseConfig and
// DecodeConfig fill and validate it; a Config built in code is validated by
// New. See docs/gateway.md for every key.
type Config struct {
	// Listen is the address of the proxy listener (default 127.0.0.1:8080).
	Listen string `yaml:"listen"`
	// AdminListen is the address of /metrics, /healthz and /readyz
	// (default 127.0.0.1:8079; "-" turns it off).
	AdminListen string `yaml:"admin_listen"`
	// TLS serves the listener over TLS from certificate files, reloaded
	// when they change.
	TLS *TLSConfig `yaml:"tls"`
	// TrustedProxies are the peers whose X-Forwarded-For and Forwarded
	// headers name the client. Others are the client themselves.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ClientIPHeader is the header the trusted proxies write the client
	// address to: "x-forwarded-for" (the default) or "forwarded" (RFC
	// 7239). Only that one is read: a proxy that writes one passes the
	// other on as the client sent it.
	ClientIPHeader string `yaml:"client_ip_header"`
	// ClientIPv6Prefix is how many leading bits of an IPv6 client
	// address are one client, for the rate limits keyed by ip, the
	// per-client bounds and the connections per address (default 64;
	// IPv4 addresses count whole).
	ClientIPv6Prefix int `yaml:"client_ipv6_prefix"`
	// AllowedMethods are the request methods the gateway serves, compared
	// with case; any other is answered 501 before routing (default GET
	// HEAD POST PUT DELETE OPTIONS PATCH: no CONNECT, no TRACE).
	AllowedMethods []string `yaml:"allowed_methods"`
	// Limits bound requests and the upstream wait.
	Limits Limits `yaml:"limits"`
	// SecurityHeaders are set on every response.
	SecurityHeaders SecurityHeaders `yaml:"security_headers"`
	// AccessLog writes one slog line per request (default true).
	AccessLog *bool `yaml:"access_log"`
	// RateLimit selects the backend of every rate limit.
	RateLimit RateLimitBackend `yaml:"ratelimit"`
	// Revocation is the policy of the deny list of revoked tokens.
	Revocation Revocation `yaml:"revocation"`
	// ClientCertificate reads the client certificate of
	// certificate-bound tokens from a header of trusted TLS-terminating
	// proxies (configbinding.go).
	ClientCertificate *ClientCertificate `yaml:"client_certificate"`
	// DPoP accepts DPoP-bound tokens (configbinding.go).
	DPoP *DPoP `yaml:"dpop"`
	// Issuers are the token issuers routes may trust.
	Issuers []Issuer `yaml:"issuers"`
	// IP lists apply to every route, before the route's own.
	IP *IPList `yaml:"ip"`
	// GlobalRateLimit applies to every request (key rate_limit).
	GlobalRateLimit *RateLimit `yaml:"rate_limit"`
	// Routes, most specific match first.
	Routes []Route `yaml:"routes"`

	path  string
	lines strictyaml.Lines
	// warnings are what loaded but should change (configmoved.go).
	warnings []*ConfigError
	// Parsed by Validate, for New and Reload to build from: nothing
	// parses a value of the file twice.
	trusted []netip.Prefix
}

// TLSConfig names the certificate and key files of the listener.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// RequestClientCertificate asks clients for a certificate (not
	// verified: the binding of a certificate-bound token is to the
	// certificate itself, RFC 8705 §3), for tokens bound to it.
	RequestClientCertificate bool `yaml:"request_client_certificate"`
}

// Limits bound what a client may send and how long the gateway waits.
// Zero values take the defaults (Default…).
type Limits struct {
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`
	MaxHeaderBytes    int           `yaml:"max_header_bytes"`
	MaxURLLength      int           `yaml:"max_url_length"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	UpstreamTimeout   time.Duration `yaml:"upstream_timeout"`
	MaxConcurrent     int           `yaml:"max_concurrent"`
	// MaxConcurrentPerClient bounds the requests in flight of one client
	// address (0: no bound), so that one client, reading slowly or holding
	// streams open, cannot take every max_concurrent slot.
	MaxConcurrentPerClient int `yaml:"max_concurrent_per_client"`
	// BodyIdleTimeout is the longest wait for the next bytes of a request
	// body; BodyTimeout the longest time for a whole body, from the end
	// of the headers. Past either the gateway answers 408 and closes the
	// connection (a slow or stalled body).
	BodyIdleTimeout time.Duration `yaml:"body_idle_timeout"`
	BodyTimeout     time.Duration `yaml:"body_timeout"`
	// MaxConnectionsPerIP bounds the connections open at once from one
	// TCP peer address on the proxy listener (trusted proxies are not
	// counted); a connection past it is closed at once.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
}

// SecurityHeaders are response header fields the gateway sets, replacing
// the upstream's. Each has a safe default; "-" (or false) turns one off.
type SecurityHeaders struct {
	// HSTS sends Strict-Transport-Security on TLS responses (default true).
	HSTS *bool `yaml:"hsts"`
	// HSTSMaxAge is its max-age (default 1 year).
	HSTSMaxAge time.Duration `yaml:"hsts_max_age"`
	// HSTSIncludeSubdomains adds includeSubDomains.
	HSTSIncludeSubdomains bool `yaml:"hsts_include_subdomains"`
	// ContentTypeOptions: X-Content-Type-Options (default "nosniff").
	ContentTypeOptions string `yaml:"content_type_options"`
	// FrameOptions: X-Frame-Options (default "DENY").
	FrameOptions string `yaml:"frame_options"`
	// ReferrerPolicy: Referrer-Policy (default "no-referrer").
	ReferrerPolicy string `yaml:"referrer_policy"`
	// Extra are more header fields, set as given.
	Extra map[string]string `yaml:"extra"`
}

// RateLimitBackend is where rate limit buckets live.
type RateLimitBackend struct {
	// Backend is memory (default) or redis.
	Backend string `yaml:"backend"`
	// RedisURL is the redis:// or rediss:// URL (or RedisURLEnv names an
	// environment variable that holds it; the caller resolves it with
	// Config.ResolveEnv, or passes Options.Redis).
	RedisURL    string `yaml:"redis_url"`
	RedisURLEnv string `yaml:"redis_url_env"`
	// OnRedisError is open (default: allow) or closed (refuse, 503).
	OnRedisError string `yaml:"on_redis_error"`
	// Prefix namespaces the Redis keys (default gatehouse:ratelimit:).
	// Gateways that share limits use the same prefix.
	Prefix string `yaml:"prefix"`
	// Timeout bounds a Redis decision (default 200ms).
	Timeout time.Duration `yaml:"timeout"`
	// LocalShares lets a busy key's requests be decided from a share of
	// its bucket held in this process, without a round trip (default
	// true; see ratelimit.WithLocalShares). false: a round trip per
	// decision, with exact RateLimit header fields on every answer.
	LocalShares *bool `yaml:"local_shares"`
}

// Revocation is how the gateway uses the deny list of revoked tokens that
// its host process gives it (Options.Revoker). 'gatehouse serve' gives the
// list shared through the Redis of ratelimit.redis_url when the backend is
// redis, else the list of its own process.
type Revocation struct {
	// OnUnavailable is what happens to a token while the shared deny
	// list is not synced (Redis unreachable, or catching up): closed
	// (default: 503, no possibly revoked token passes) or open (answer
	// from the list as it was). It was ratelimit.on_revocation_unavailable,
	// which still loads, with a warning (configmoved.go). See
	// docs/deployment.md.
	OnUnavailable string `yaml:"on_unavailable"`
}

// Issuer is a token issuer that routes may trust.
type Issuer struct {
	// Name is how routes refer to it.
	Name string `yaml:"name"`
	// Issuer is the iss claim; its discovery document gives the JWKS
	// unless JWKSURL or JWKSFile is set.
	Issuer   string `yaml:"issuer"`
	JWKSURL  string `yaml:"jwks_url"`
	JWKSFile string `yaml:"jwks_file"`
	// Audiences the gateway accepts (at least one).
	Audiences []string `yaml:"audiences"`
	// Algorithms allowed (default ES256, EdDSA, RS256, PS256).
	Algorithms []string `yaml:"algorithms"`
	// Leeway on exp, nbf and iat (default 30s).
	Leeway time.Duration `yaml:"leeway"`
}

// IPList is an allow and a deny list of addresses and CIDR prefixes.
// Deny wins; a non-empty allow list refuses every address it does not hold.
type IPList struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`

	allow, deny []netip.Prefix // parsed by Validate
}

// RateLimit is a limit with Spring Cloud Gateway's semantics.
type RateLimit struct {
	// Key partitions the limit: ip, client_id, sub, claim:NAME or
	// header:NAME.
	Key             string  `yaml:"key"`
	ReplenishRate   float64 `yaml:"replenish_rate"`
	BurstCapacity   int     `yaml:"burst_capacity"`
	RequestedTokens int     `yaml:"requested_tokens"`
}

// Route sends matching requests to its upstreams.
type Route struct {
	Name          string            `yaml:"name"`
	Host          string            `yaml:"host"`
	Methods       []string          `yaml:"methods"`
	Path          string            `yaml:"path"`
	Pattern       string            `yaml:"pattern"`
	StripPrefix   string            `yaml:"strip_prefix"`
	Upstreams     []string          `yaml:"upstreams"`
	HealthCheck   *HealthCheck      `yaml:"health_check"`
	PassiveHealth *PassiveHealth    `yaml:"passive_health"`
	Timeout       time.Duration     `yaml:"timeout"`
	Auth          string            `yaml:"auth"`
	Issuers       []string          `yaml:"issuers"`
	Rules         *Rules            `yaml:"rules"`
	Downstream    string            `yaml:"downstream"`
	Exchange      *Exchange         `yaml:"exchange"`
	ForwardClaims map[string]string `yaml:"forward_claims"`
	RateLimit     *RateLimit        `yaml:"rate_limit"`
	IP            *IPList           `yaml:"ip"`
	CORS          *CORS             `yaml:"cors"`
	MaxBodyBytes  int64             `yaml:"max_body_bytes"`
	// SenderConstraint refuses bearer tokens on the route: any (bound to
	// a certificate or a DPoP key), certificate or dpop. Empty: bearer
	// tokens too (bound tokens are always checked).
	SenderConstraint string `yaml:"sender_constraint"`

	upstreams []*url.URL // parsed by Validate
}

// HealthCheck is an active health check: GET path on every upstream each
// interval; a 2xx or 3xx marks it up, anything else down.
type HealthCheck struct {
	Path     string        `yaml:"path"`
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
}

// PassiveHealth skips an upstream for Cooldown after Failures consecutive
// failed attempts (connection errors and timeouts).
type PassiveHealth struct {
	Failures int           `yaml:"failures"`
	Cooldown time.Duration `yaml:"cooldown"`
}

// Rules are the guard rules of a route; all listed must allow.
type Rules struct {
	Authenticated *bool    `yaml:"authenticated"`
	Roles         []string `yaml:"roles"`
	AnyRole       []string `yaml:"any_role"`
	Scopes        []string `yaml:"scopes"`
	Groups        []string `yaml:"groups"`
	Expr          string   `yaml:"expr"`
}

// Exchange configures downstream: exchange (RFC 8693 through package relay).
type Exchange struct {
	TokenURL  string   `yaml:"token_url"`
	ClientID  string   `yaml:"client_id"`
	Secret    string   `yaml:"secret"`
	SecretEnv string   `yaml:"secret_env"`
	Audience  string   `yaml:"audience"`
	Scopes    []string `yaml:"scopes"`
	// DPoP asks for DPoP-bound tokens (RFC 9449) with a key of the
	// route's, and signs a proof for each upstream request
	// (exchangebound.go).
	DPoP bool `yaml:"dpop"`
}

// CORS is a route's cross-origin policy; the gateway answers preflights.
type CORS struct {
	// AllowedOrigins are exact origins ("https://app.example.com"),
	// patterns with one leading wildcard label ("https://*.example.com"),
	// or "*" (not with AllowCredentials).
	AllowedOrigins   []string      `yaml:"allowed_origins"`
	AllowedMethods   []string      `yaml:"allowed_methods"`
	AllowedHeaders   []string      `yaml:"allowed_headers"`
	ExposedHeaders   []string      `yaml:"exposed_headers"`
	AllowCredentials bool          `yaml:"allow_credentials"`
	MaxAge           time.Duration `yaml:"max_age"`

	patterns []originPattern // parsed by Validate
}

// ConfigError is a bad configuration: the file, the line (0 when unknown),
// the key path ("routes[2].cors") and the reason, as "FILE:LINE: key:
// reason". It is the error type of the one gatehouse.yaml loader, so that
// every section reports the same way.
type ConfigError = strictyaml.Error

// ParseConfig decodes and validates a gateway section given as YAML bytes
// (the mapping under `gateway:`; a document whose only key is gateway is
// accepted too). Errors name the line, the key and the reason
// ("gateway.yaml:12: routes[2].cors: ...").
func ParseConfig(path string, data []byte) (*Config, error) {
	if len(data) > MaxConfigBytes {
		return nil, &ConfigError{Path: path, Reason: fmt.Sprintf("larger than %d bytes", MaxConfigBytes)}
	}
	n, err := strictyaml.ParseDocument(path, data)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return nil, &ConfigError{Path: path, Reason: "empty gateway section"}
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "gateway" {
		n = n.Content[1]
	}
	return DecodeConfig(path, n)
}

// DecodeConfig decodes and validates the gateway section from its
// yaml.Node (internal/config passes the node of the file's gateway key).
// Unknown keys, values of the wrong type and invalid values are
// *ConfigError with the line and the key path within the section.
func DecodeConfig(path string, node *yaml.Node) (*Config, error) {
	if node == nil || node.Kind != yaml.MappingNode {
		line := 0
		if node != nil {
			line = node.Line
		}
		return nil, &ConfigError{Path: path, Line: line, Key: "gateway", Reason: "must be a section of keys (listen, issuers, routes, ...), indented below gateway:"}
	}
	node, moved, err := takeMoved(path, node) // configmoved.go
	if err != nil {
		return nil, err
	}
	c := new(Config)
	lines := strictyaml.Lines{}
	if err := strictyaml.Decode(path, node, "", c, lines); err != nil {
		return nil, err
	}
	c.path, c.lines = path, lines
	if err := c.applyMoved(moved); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Warnings are what the section loaded with but should change, each with
// its line and what to do: keys under a deprecated name, and dpop.nonce
// without a shared secret in a fleet or on CORS routes that do not expose
// DPoP-Nonce. The host process logs them at start and at every reload.
func (c *Config) Warnings() []*ConfigError {
	return append(slices.Clip(c.warnings), c.nonceWarnings()...)
}

// Line returns the line of a key path of the section ("routes[1].cors")
// in the file the Config was decoded from, or 0.
func (c *Config) Line(key string) int { return c.lines.Of(key) }

// ResolveEnv fills the values that the file names by environment variable
// (ratelimit.redis_url_env, dpop.nonce_secret_env,
// routes[].exchange.secret_env) through lookup,
// typically os.LookupEnv. A named variable that is unset or empty is an
// error. The gateway package itself never reads the environment.
func (c *Config) ResolveEnv(lookup func(string) (string, bool)) error {
	get := func(line int, key, name string) (string, error) {
		v, ok := lookup(name)
		if !ok || v == "" {
			return "", c.errAt(line, key, "the environment variable %s is not set", name)
		}
		return v, nil
	}
	if name := c.RateLimit.RedisURLEnv; name != "" {
		v, err := get(c.Line("ratelimit.redis_url_env"), "ratelimit.redis_url_env", name)
		if err != nil {
			return err
		}
		c.RateLimit.RedisURL = v
	}
	if d := c.DPoP; d != nil && d.Nonce && d.NonceSecretEnv != "" {
		key := "dpop.nonce_secret_env"
		v, err := get(c.Line(key), key, d.NonceSecretEnv)
		if err != nil {
			return err
		}
		if len(v) < dpop.MinNonceSecretBytes {
			return c.errAt(c.Line(key), key, "the secret in %s is %d bytes, shorter than %d: make one with 'openssl rand -base64 48'",
				d.NonceSecretEnv, len(v), dpop.MinNonceSecretBytes)
		}
		d.nonceSecret = []byte(v)
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		if r.Exchange != nil && r.Exchange.SecretEnv != "" {
			key := fmt.Sprintf("routes[%d].exchange.secret_env", i)
			v, err := get(c.Line(key), key, r.Exchange.SecretEnv)
			if err != nil {
				return err
			}
			r.Exchange.Secret = v
		}
	}
	return nil
}

func (c *Config) errAt(line int, key, format string, args ...any) *ConfigError {
	path := c.path
	if path == "" {
		path = "gateway"
	}
	return &ConfigError{Path: path, Line: line, Key: key, Reason: fmt.Sprintf(format, args...)}
}
