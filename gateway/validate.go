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

	"github.com/gatehousehq/gatehouse/ratelimit"
	"golang.org/x/net/http/httpguts"
)

// Validation of the gateway section as a whole; the routes' own checks
// are in validateroute.go. Values parsed here (prefixes, upstream URLs,
// origin patterns) are kept for New and Reload to build from.

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
		if !httpguts.ValidHeaderFieldName(k) || strings.ContainsAny(v, "\r\n") {
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
	if err := c.validateBinding(); err != nil { // validatebinding.go
		return err
	}
	if err := checkOnUnavailable(c.Revocation.OnUnavailable); err != nil {
		return c.errAt(top("revocation.on_unavailable"), "revocation.on_unavailable", "%v", err)
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

// checkOnUnavailable checks a value of revocation.on_unavailable.
func checkOnUnavailable(v string) error {
	switch v {
	case "", "open", "closed":
		return nil
	}
	return fmt.Errorf("%q: use closed or open", v)
}

func (rl *RateLimit) validate(name string) error {
	switch {
	case rl.Key == "ip", rl.Key == "client_id", rl.Key == "sub":
	case strings.HasPrefix(rl.Key, "claim:") && len(rl.Key) > len("claim:"):
	case strings.HasPrefix(rl.Key, "header:") && httpguts.ValidHeaderFieldName(rl.Key[len("header:"):]):
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
		if h != "*" && !httpguts.ValidHeaderFieldName(h) {
			return fmt.Errorf("%q is not a header field name", h)
		}
	}
	if c.MaxAge < 0 {
		return errors.New("max_age must not be negative")
	}
	return nil
}
