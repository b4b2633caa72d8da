package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
)

// Validation of the keys of sender-constrained tokens
// (configbinding.go): client_certificate, dpop and a route's
// sender_constraint.

// maxDPoPWindow bounds dpop.window (the dpop package's own bound).
const maxDPoPWindow = 10 * time.Minute

// validateBinding checks client_certificate and dpop, and keeps the
// parsed proxies.
func (c *Config) validateBinding() error {
	if cc := c.ClientCertificate; cc != nil {
		at := func(k, format string, args ...any) error {
			key := "client_certificate." + k
			line := c.Line(key)
			if line == 0 {
				line = c.Line("client_certificate")
			}
			return c.errAt(line, key, format, args...)
		}
		h := http.CanonicalHeaderKey(cc.Header)
		if !httpguts.ValidHeaderFieldName(cc.Header) || h == "Authorization" || h == "Host" || h == "Dpop" {
			return at("header", "%q is not a header field the proxy may write the certificate to", cc.Header)
		}
		switch guard.CertificateFormat(cc.Format) {
		case guard.CertificateXFCC, guard.CertificateEscapedPEM, guard.CertificateRFC9440:
		default:
			return at("format", "%q: use xfcc (Envoy), pem (URL-encoded PEM, nginx) or rfc9440 (Client-Cert)", cc.Format)
		}
		if len(cc.TrustedProxies) == 0 {
			return at("trusted_proxies", "name the proxies that write %s: from anyone else it would let a client name any certificate", cc.Header)
		}
		cc.trusted = nil
		for i, p := range cc.TrustedProxies {
			pf, err := parsePrefix(p)
			if err != nil {
				return at(fmt.Sprintf("trusted_proxies[%d]", i), "%v", err)
			}
			cc.trusted = append(cc.trusted, pf)
		}
	}
	if d := c.DPoP; d != nil {
		at := func(k, format string, args ...any) error {
			key := "dpop." + k
			line := c.Line(key)
			if line == 0 {
				line = c.Line("dpop")
			}
			return c.errAt(line, key, format, args...)
		}
		switch d.Replay {
		case "", "memory":
		case "redis":
			if c.RateLimit.Backend != "redis" {
				return at("replay", "redis uses the gateway's Redis: set ratelimit.backend: redis and its redis_url")
			}
		default:
			return at("replay", "%q: use memory or redis", d.Replay)
		}
		if d.Window < 0 || d.Window > maxDPoPWindow {
			return at("window", "must be between 0 (the default, 60s) and %s", maxDPoPWindow)
		}
		if d.ExternalURL != "" {
			u, err := url.Parse(d.ExternalURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
				return at("external_url", "%q must be an absolute http(s) URL without user, query or fragment", d.ExternalURL)
			}
		}
		if len(d.Algorithms) > 0 {
			if _, err := dpop.NewVerifier(dpop.WithReplay(noReplay{}), dpop.WithAlgorithms(d.Algorithms...)); err != nil {
				return at("algorithms", "%s", strings.TrimPrefix(err.Error(), "dpop: WithAlgorithms: "))
			}
		}
		switch {
		case d.Forwarded && d.ExternalURL != "":
			return at("forwarded", "external_url and forwarded both say where requests are sent: give one")
		case d.Forwarded && len(c.TrustedProxies) == 0:
			return at("forwarded", "the forwarded scheme and host are read from trusted_proxies only: list the proxies in gateway.trusted_proxies")
		case len(d.ForwardedHosts) > 0 && !d.Forwarded:
			return at("forwarded_hosts", "hosts are listed but dpop.forwarded is not true: add forwarded: true or remove forwarded_hosts")
		}
		for _, h := range d.ForwardedHosts {
			if _, err := originOf("https", h, &http.Request{}); err != nil {
				return at("forwarded_hosts", "%q is not a host as clients send it: write a host name or IP address, with a port if clients send one (api.example.com, api.example.com:8443, [2001:db8::1])", h)
			}
		}
		if d.NonceSecretEnv != "" && !d.Nonce {
			return at("nonce_secret_env", "a nonce secret is named but dpop.nonce is not true: add nonce: true or remove nonce_secret_env")
		}
	}
	return nil
}

// nonceWarnings are what dpop.nonce works with but should change: gateways
// that share a Redis (a fleet) each making their own nonces, and CORS
// routes whose browsers cannot read the nonce ([Config.Warnings]).
func (c *Config) nonceWarnings() []*ConfigError {
	d := c.DPoP
	if d == nil || !d.Nonce {
		return nil
	}
	var warnings []*ConfigError
	if d.NonceSecretEnv == "" && (c.RateLimit.Backend == "redis" || d.Replay == "redis") {
		warnings = append(warnings, c.errAt(c.Line("dpop.nonce"), "dpop.nonce",
			"every gateway instance makes its own nonces, so a request that reaches another instance than the last one is refused with that one's nonce, and its one retry may land on a third: set nonce_secret_env to the same secret on every instance"))
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		co := r.CORS
		if co == nil || r.Auth != "jwt" || slices.ContainsFunc(co.ExposedHeaders, func(h string) bool {
			return strings.EqualFold(h, "DPoP-Nonce") || (h == "*" && !co.AllowCredentials)
		}) {
			continue
		}
		key := fmt.Sprintf("routes[%d].cors.exposed_headers", i)
		line := c.Line(key)
		if line == 0 {
			line = c.Line(fmt.Sprintf("routes[%d].cors", i))
		}
		warnings = append(warnings, c.errAt(line, key,
			"dpop.nonce is on and browsers on other origins cannot read the DPoP-Nonce header of this route's answers: add DPoP-Nonce (and WWW-Authenticate) to exposed_headers"))
	}
	return warnings
}

// validateSenderConstraint checks routes[i].sender_constraint: a value
// the gateway can meet, on a route that checks tokens.
func (c *Config) validateSenderConstraint(key string, r *Route) error {
	if r.SenderConstraint == "" {
		return nil
	}
	k := key + ".sender_constraint"
	at := func(format string, args ...any) error { return c.errAt(c.Line(k), k, format, args...) }
	if r.Auth != "jwt" {
		return at("needs auth: jwt")
	}
	certs := c.ClientCertificate != nil || (c.TLS != nil && c.TLS.RequestClientCertificate)
	switch r.SenderConstraint {
	case "any":
		if !certs && c.DPoP == nil {
			return at("no bound token could pass: set gateway.dpop, gateway.client_certificate or tls.request_client_certificate")
		}
	case "certificate":
		if !certs {
			return at("the gateway sees no client certificate: set tls.request_client_certificate: true, or gateway.client_certificate behind a TLS-terminating proxy")
		}
	case "dpop":
		if c.DPoP == nil {
			return at("DPoP proofs are checked only with a gateway.dpop section")
		}
	default:
		return at("%q: use any, certificate or dpop", r.SenderConstraint)
	}
	return nil
}

// senderConstraintRule is the guard rule of a route's sender_constraint,
// or nil.
func senderConstraintRule(v string) guard.Rule {
	switch v {
	case "any":
		return guard.RequireBound()
	case "certificate":
		return guard.RequireBound(guard.BindingCertificate)
	case "dpop":
		return guard.RequireBound(guard.BindingDPoP)
	}
	return nil
}
