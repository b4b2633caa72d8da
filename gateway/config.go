package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/gatehousehq/gatehouse/internal/strictyaml"
	"github.com/gatehousehq/gatehouse/ratelimit"
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
	// Parsed by Validate, for New and Reload to build from: nothing
	// parses a value of the file twice.
	trusted []netip.Prefix
}

// TLSConfig names the certificate and key files of the listener.
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
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
	// OnRevocationUnavailable is what 'gatehouse serve' does with a token
	// while the shared deny list on this Redis is not synced: closed
	// (default: 503, no possibly revoked token passes) or open (answer from
	// the deny list as it was). See docs/deployment.md.
	OnRevocationUnavailable string `yaml:"on_revocation_unavailable"`
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
	c := new(Config)
	lines := strictyaml.Lines{}
	if err := strictyaml.Decode(path, node, "", c, lines); err != nil {
		return nil, err
	}
	c.path, c.lines = path, lines
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Line returns the line of a key path of the section ("routes[1].cors")
// in the file the Config was decoded from, or 0.
func (c *Config) Line(key string) int { return c.lines.Of(key) }

// ResolveEnv fills the values that the file names by environment variable
// (ratelimit.redis_url_env, routes[].exchange.secret_env) through lookup,
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

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,48}$`)

// Validate reports the first thing wrong with c as a *ConfigError. New
// calls it; ParseConfig and DecodeConfig too.
func (c *Config) Validate() error {
	top := c.Line
	c.trusted = nil // fresh slices: a running gateway may hold the old ones
	for i, p := range c.TrustedProxies {
		pf, err := parsePrefix(p)
		if err != nil {
			key := fmt.Sprintf("trusted_proxies[%d]", i)
			return c.errAt(top(key), key, "%v", err)
		}
		c.trusted = append(c.trusted, pf)
	}
	switch strings.ToLower(c.ClientIPHeader) {
	case "", "x-forwarded-for", "forwarded":
	default:
		return c.errAt(top("client_ip_header"), "client_ip_header", "%q is not x-forwarded-for or forwarded", c.ClientIPHeader)
	}
	if p := c.ClientIPv6Prefix; p != 0 && (p < 32 || p > 128) {
		return c.errAt(top("client_ipv6_prefix"), "client_ipv6_prefix", "%d: give the prefix length of one client's IPv6 addresses, 32 to 128 (default 64)", p)
	}
	if err := validateMethods(c.AllowedMethods); err != nil {
		return c.errAt(top("allowed_methods"), "allowed_methods", "%v", err)
	}
	if c.TLS != nil && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		return c.errAt(top("tls"), "tls", "cert_file and key_file are both required")
	}
	l := c.Limits
	if l.MaxBodyBytes < 0 || l.MaxHeaderBytes < 0 || l.MaxURLLength < 0 || l.ReadHeaderTimeout < 0 ||
		l.IdleTimeout < 0 || l.UpstreamTimeout < 0 || l.MaxConcurrent < 0 || l.MaxConcurrentPerClient < 0 ||
		l.BodyIdleTimeout < 0 || l.BodyTimeout < 0 || l.MaxConnectionsPerIP < 0 {
		return c.errAt(top("limits"), "limits", "limits must not be negative")
	}
	for k, v := range c.SecurityHeaders.Extra {
		if !validHeaderName(k) || strings.ContainsAny(v, "\r\n") {
			return c.errAt(top("security_headers"), "security_headers.extra", "%q is not a valid header field", k)
		}
	}
	switch c.RateLimit.Backend {
	case "", "memory":
	case "redis":
		if c.RateLimit.RedisURL != "" {
			if u, err := url.Parse(c.RateLimit.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
				return c.errAt(top("ratelimit"), "ratelimit.redis_url", "must be a redis://, rediss:// or unix:// URL")
			}
		}
	default:
		return c.errAt(top("ratelimit"), "ratelimit.backend", "%q: use memory or redis", c.RateLimit.Backend)
	}
	switch c.RateLimit.OnRedisError {
	case "", "open", "closed":
	default:
		return c.errAt(top("ratelimit"), "ratelimit.on_redis_error", "%q: use open or closed", c.RateLimit.OnRedisError)
	}
	switch c.RateLimit.OnRevocationUnavailable {
	case "", "open", "closed":
	default:
		return c.errAt(top("ratelimit"), "ratelimit.on_revocation_unavailable", "%q: use closed or open", c.RateLimit.OnRevocationUnavailable)
	}
	if c.RateLimit.Timeout < 0 {
		return c.errAt(top("ratelimit"), "ratelimit.timeout", "must not be negative")
	}
	issuers := map[string]bool{}
	for i, is := range c.Issuers {
		key := fmt.Sprintf("issuers[%d]", i)
		line := top(key)
		if !nameRE.MatchString(is.Name) {
			return c.errAt(line, key+".name", "%q: 1 to 48 letters, digits, '.', '_' or '-'", is.Name)
		}
		if issuers[is.Name] {
			return c.errAt(line, key+".name", "%q is used twice", is.Name)
		}
		issuers[is.Name] = true
		if u, err := url.Parse(is.Issuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c.errAt(line, key+".issuer", "%q must be an absolute http(s) URL", is.Issuer)
		}
		if is.JWKSURL != "" && is.JWKSFile != "" {
			return c.errAt(line, key, "give jwks_url or jwks_file, not both")
		}
		if is.JWKSURL != "" {
			if u, err := url.Parse(is.JWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return c.errAt(line, key+".jwks_url", "%q must be an absolute http(s) URL", is.JWKSURL)
			}
		}
		if len(is.Audiences) == 0 || slices.Contains(is.Audiences, "") {
			return c.errAt(line, key+".audiences", "at least one non-empty audience is required (an empty list would accept tokens meant for any service)")
		}
		if is.Leeway < 0 || is.Leeway > 5*time.Minute {
			return c.errAt(line, key+".leeway", "must be between 0 and 5m")
		}
	}
	if c.IP != nil {
		if err := c.IP.validate(); err != nil {
			return c.errAt(top("ip"), "ip", "%v", err)
		}
	}
	if c.GlobalRateLimit != nil {
		if err := c.GlobalRateLimit.validate("global"); err != nil {
			return c.errAt(top("rate_limit"), "rate_limit", "%v", err)
		}
	}
	if len(c.Routes) == 0 {
		return c.errAt(top("routes"), "routes", "at least one route is required")
	}
	names := map[string]bool{}
	for i := range c.Routes {
		if err := c.validateRoute(i, issuers, names); err != nil {
			return err
		}
	}
	// Patterns that conflict are found by building the mux.
	if _, err := buildMatcher(c.Routes, func(int) matchTarget {
		return matchTarget{handler: http.NotFoundHandler(), preflight: http.NotFoundHandler()}
	}); err != nil {
		return c.errAt(top("routes"), "routes", "%v", err)
	}
	return nil
}

func (c *Config) validateRoute(i int, issuers, names map[string]bool) error {
	r := &c.Routes[i]
	key := fmt.Sprintf("routes[%d]", i)
	at := func(k string, format string, args ...any) error {
		return c.errAt(c.Line(strictyaml.Join(key, k)), strictyaml.Join(key, k), format, args...)
	}
	if !nameRE.MatchString(r.Name) {
		return at("name", "%q: 1 to 48 letters, digits, '.', '_' or '-'", r.Name)
	}
	if names[r.Name] {
		return at("name", "%q is used twice", r.Name)
	}
	names[r.Name] = true
	if (r.Path == "") == (r.Pattern == "") {
		return at("path", "give exactly one of path (a prefix) and pattern (a Go ServeMux pattern)")
	}
	if r.Path != "" && !strings.HasPrefix(r.Path, "/") {
		return at("path", "%q must start with /", r.Path)
	}
	if r.Path != "" && strings.ContainsAny(r.Path, "{} ") {
		return at("path", "%q: wildcards belong in pattern, not path", r.Path)
	}
	if r.Pattern != "" {
		m, rest, ok := strings.Cut(r.Pattern, " ")
		if ok && len(r.Methods) > 0 && m != "" {
			return at("pattern", "the pattern names a method; drop methods")
		}
		if !ok {
			rest = m
		}
		if !strings.HasPrefix(strings.TrimLeft(rest, " "), "/") && r.Host != "" {
			return at("pattern", "the pattern names a host; drop host")
		}
	}
	if hasCapitals(r.Path) {
		return at("path", "%q has capital letters: the gateway matches paths with case, many servers without, so a request in other case could reach this route's upstream by another route's rules; write the path in lowercase", r.Path)
	}
	if r.Pattern != "" {
		_, rest, ok := strings.Cut(strings.TrimSpace(r.Pattern), " ")
		if !ok {
			rest = strings.TrimSpace(r.Pattern)
		}
		if hasCapitals(rest) {
			return at("pattern", "%q has capital letters outside {wildcards}: host names and paths are matched without case by many servers; write them in lowercase", r.Pattern)
		}
	}
	for _, m := range r.Methods {
		if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " /{}") {
			return at("methods", "%q is not an HTTP method in capitals", m)
		}
	}
	if methods, _ := routePatterns(r); len(methods) > 0 {
		served := newMethodSet(c.AllowedMethods)
		for _, m := range methods {
			if !served.allowed(m) {
				k := "methods"
				if len(r.Methods) == 0 {
					k = "pattern"
				}
				return at(k, "%s is not among the methods the gateway serves (allowed_methods): add it there", m)
			}
		}
	}
	if r.Host != "" && strings.ContainsAny(r.Host, "/ {}") {
		return at("host", "%q is not a host name", r.Host)
	}
	if r.StripPrefix != "" && (!strings.HasPrefix(r.StripPrefix, "/") || (r.Path != "" && !strings.HasPrefix(r.Path, r.StripPrefix))) {
		return at("strip_prefix", "%q must start with / and be a prefix of path", r.StripPrefix)
	}
	if len(r.Upstreams) == 0 {
		return at("upstreams", "at least one upstream URL is required")
	}
	r.upstreams = nil
	for _, u := range r.Upstreams {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.RawQuery != "" || pu.Fragment != "" || pu.User != nil {
			return at("upstreams", "%q must be an absolute http(s) URL without user, query or fragment", u)
		}
		r.upstreams = append(r.upstreams, pu)
	}
	if h := r.HealthCheck; h != nil {
		if !strings.HasPrefix(h.Path, "/") || h.Interval < 0 || h.Timeout < 0 {
			return at("health_check", "path must start with / and interval and timeout must not be negative")
		}
	}
	if p := r.PassiveHealth; p != nil && (p.Failures < 0 || p.Cooldown < 0) {
		return at("passive_health", "failures and cooldown must not be negative")
	}
	if r.Timeout < 0 || r.MaxBodyBytes < 0 {
		return at("timeout", "timeout and max_body_bytes must not be negative")
	}
	switch r.Auth {
	case "none":
		if r.Rules != nil || len(r.Issuers) > 0 || len(r.ForwardClaims) > 0 || (r.Downstream != "" && r.Downstream != "strip" && r.Downstream != "relay") {
			return at("auth", "auth: none takes no issuers, rules, forward_claims or exchange")
		}
		if r.RateLimit != nil && needsPrincipal(r.RateLimit.Key) {
			return at("rate_limit", "key %q needs auth: jwt", r.RateLimit.Key)
		}
	case "jwt":
		if len(c.Issuers) == 0 {
			return at("auth", "auth: jwt needs at least one entry in gateway.issuers")
		}
		for _, name := range r.Issuers {
			if !issuers[name] {
				return at("issuers", "%q is not the name of an entry of gateway.issuers", name)
			}
		}
	default:
		return at("auth", "%q: use none or jwt (no default: say which)", r.Auth)
	}
	if r.Rules != nil && r.Rules.Expr != "" {
		if _, err := exprRule(r.Rules.Expr); err != nil {
			return at("rules", "expr: %v", err)
		}
	}
	switch r.Downstream {
	case "", "relay", "strip":
		if r.Exchange != nil {
			return at("exchange", "exchange settings need downstream: exchange")
		}
	case "exchange":
		e := r.Exchange
		if e == nil || e.TokenURL == "" || e.ClientID == "" || e.Audience == "" {
			return at("exchange", "downstream: exchange needs exchange.token_url, client_id and audience")
		}
		if e.Secret == "" && e.SecretEnv == "" {
			return at("exchange", "exchange needs secret or secret_env")
		}
		if u, err := url.Parse(e.TokenURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return at("exchange", "token_url %q must be an absolute http(s) URL", e.TokenURL)
		}
	default:
		return at("downstream", "%q: use relay, exchange or strip", r.Downstream)
	}
	for h, claim := range r.ForwardClaims {
		if !validHeaderName(h) || strings.EqualFold(h, "Authorization") || strings.EqualFold(h, "Host") {
			return at("forward_claims", "%q is not a header field the gateway may set", h)
		}
		if claim == "" {
			return at("forward_claims", "%s: name a claim", h)
		}
	}
	if r.RateLimit != nil {
		if err := r.RateLimit.validate("route"); err != nil {
			return at("rate_limit", "%v", err)
		}
	}
	if r.IP != nil {
		if err := r.IP.validate(); err != nil {
			return at("ip", "%v", err)
		}
	}
	if r.CORS != nil {
		if err := r.CORS.validate(); err != nil {
			return at("cors", "%v", err)
		}
	}
	return nil
}

func (rl *RateLimit) validate(name string) error {
	switch {
	case rl.Key == "ip", rl.Key == "client_id", rl.Key == "sub":
	case strings.HasPrefix(rl.Key, "claim:") && len(rl.Key) > len("claim:"):
	case strings.HasPrefix(rl.Key, "header:") && validHeaderName(rl.Key[len("header:"):]):
	default:
		return fmt.Errorf("key %q: use ip, client_id, sub, claim:NAME or header:NAME", rl.Key)
	}
	p := ratelimit.Policy{Name: name, ReplenishRate: rl.ReplenishRate, BurstCapacity: rl.BurstCapacity, RequestedTokens: rl.RequestedTokens}
	var pe *ratelimit.PolicyError
	if err := p.Validate(); errors.As(err, &pe) {
		return fmt.Errorf("%s: %s", pe.Field, pe.Reason)
	} else if err != nil {
		return err
	}
	return nil
}

func needsPrincipal(key string) bool {
	return key == "sub" || key == "client_id" || strings.HasPrefix(key, "claim:")
}

func (l *IPList) validate() error {
	l.allow, l.deny = nil, nil
	for i, s := range l.Allow {
		p, err := parsePrefix(s)
		if err != nil {
			return fmt.Errorf("allow[%d]: %w", i, err)
		}
		l.allow = append(l.allow, p)
	}
	for i, s := range l.Deny {
		p, err := parsePrefix(s)
		if err != nil {
			return fmt.Errorf("deny[%d]: %w", i, err)
		}
		l.deny = append(l.deny, p)
	}
	return nil
}

// hasCapitals reports whether s has an upper-case letter outside {...}
// wildcard names.
func hasCapitals(s string) bool {
	depth := 0
	for _, c := range s {
		switch {
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0 && unicode.IsUpper(c):
			return true
		}
	}
	return false
}

// parsePrefix reads a CIDR prefix or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR prefix (such as 10.0.0.0/8 or 2001:db8::/32)", s)
		}
		if p.Addr().Is4In6() {
			// Client addresses are unmapped (::ffff:10.0.0.1 is 10.0.0.1):
			// so must prefixes be, or they never match.
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("%q mixes IPv4-mapped and other IPv6 addresses: write the IPv4 prefix (such as 10.0.0.0/8)", s)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR prefix", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (c *CORS) validate() error {
	if len(c.AllowedOrigins) == 0 {
		return errors.New("allowed_origins: at least one origin is required")
	}
	c.patterns = nil
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			if c.AllowCredentials {
				return errors.New(`allowed_origins: "*" with allow_credentials: true would let every site act with the user's credentials; list the origins`)
			}
			continue
		}
		op, err := parseOriginPattern(o)
		if err != nil {
			return fmt.Errorf("allowed_origins: %w", err)
		}
		if strings.Contains(o, "*") {
			c.patterns = append(c.patterns, op)
		}
	}
	for _, m := range c.AllowedMethods {
		if m == "" || strings.ToUpper(m) != m || strings.ContainsAny(m, " ,") {
			return fmt.Errorf("allowed_methods: %q is not an HTTP method in capitals", m)
		}
	}
	for _, h := range append(slices.Clone(c.AllowedHeaders), c.ExposedHeaders...) {
		if h != "*" && !validHeaderName(h) {
			return fmt.Errorf("%q is not a header field name", h)
		}
	}
	if c.MaxAge < 0 {
		return errors.New("max_age must not be negative")
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
