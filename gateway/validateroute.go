package gateway

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gatehousehq/gatehouse/internal/strictyaml"
	"golang.org/x/net/http/httpguts"
)

// Validation of one route of the gateway section.

// validateRoute reports the first thing wrong with routes[i]; issuers are
// the names of gateway.issuers, names the route names seen so far.
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
	if err := c.validateSenderConstraint(key, r); err != nil { // validatebinding.go
		return err
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
		if !httpguts.ValidHeaderFieldName(h) || strings.EqualFold(h, "Authorization") || strings.EqualFold(h, "Host") {
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
