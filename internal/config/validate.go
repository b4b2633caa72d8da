package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/internal/strictyaml"
	"github.com/gatehousehq/gatehouse/keys"
)

// The rules of the authserver section beyond the types of its keys, each
// refusal with FILE:LINE and the key.

func (a *AuthServer) validate(path string, lines strictyaml.Lines) error {
	// at reports a problem with key (a path under authserver).
	at := func(key, format string, args ...any) error {
		key = strictyaml.Join("authserver", key)
		return &Error{Path: path, Line: lines.Of(key), Key: key, Reason: fmt.Sprintf(format, args...)}
	}
	if a.Issuer == "" {
		return at("issuer", "is required: the URL clients reach the auth server at, e.g. issuer: http://127.0.0.1:9000")
	}
	u, err := url.Parse(a.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(a.Issuer, "/") {
		return at("issuer", "%q must be an absolute http(s) URL without query, fragment or trailing slash, e.g. https://auth.example.com", a.Issuer)
	}
	a.Algorithm = keys.Default
	if a.SigningAlg != "" {
		alg, err := keys.ParseAlgorithm(a.SigningAlg)
		if err != nil || alg.Symmetric() {
			return at("signing_alg", "%q: use ES256 (the default), EdDSA, RS256 or PS256", a.SigningAlg)
		}
		a.Algorithm = alg
	}
	if a.Data != "" && a.Store != "" {
		return at("store", "give data (a SQLite folder) or store (a postgres:// URL), not both: remove one")
	}
	if a.Store != "" && !strings.HasPrefix(a.Store, "postgres://") && !strings.HasPrefix(a.Store, "postgresql://") {
		return at("store", "must be a postgres:// URL; for the embedded store write data: DIR instead")
	}
	if a.Redis != "" && a.RedisEnv != "" {
		return at("redis_env", "give redis (a URL) or redis_env (the variable that holds it), not both: remove one")
	}
	if a.Redis != "" && !strings.HasPrefix(a.Redis, "redis://") && !strings.HasPrefix(a.Redis, "rediss://") && !strings.HasPrefix(a.Redis, "unix://") {
		return at("redis", "must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0")
	}
	if a.AccessTokenTTL < 0 {
		return at("access_token_ttl", "must be a positive duration, e.g. 15m")
	}
	if a.RefreshTokenTTL < 0 {
		return at("refresh_token_ttl", "must be a positive duration, e.g. 720h")
	}
	if l := a.Limits; l != nil {
		switch {
		case l.BodyIdleTimeout < 0:
			return at("limits.body_idle_timeout", "must not be negative; e.g. 10s")
		case l.BodyTimeout < 0:
			return at("limits.body_timeout", "must not be negative; e.g. 30s")
		case l.MaxConnectionsPerIP < 0:
			return at("limits.max_connections_per_ip", "must not be negative; e.g. 256")
		}
	}
	if k := a.KeyEncryption; k != nil {
		if err := k.Current().check(); err != nil {
			return at("key_encryption", "%v: the current key-encryption secret, which seals the signing keys (make one with 'gatehouse keys secret --out FILE')", err)
		}
		for i, p := range k.Previous {
			if err := p.check(); err != nil {
				return at(fmt.Sprintf("key_encryption.previous[%d]", i), "%v: a previous key-encryption secret, which only opens keys sealed before a rotation", err)
			}
		}
	}
	if err := a.MTLS.validate(at); err != nil {
		return err
	}
	if err := a.DPoP.validate(at); err != nil { // dpop.go
		return err
	}
	if a.RefreshTokenGrace > time.Minute {
		return at("refresh_token_grace", "must be at most 1m: it is the window in which an already used refresh token is honoured again; e.g. 15s, or -1s for none")
	}
	for key, th := range map[string]*Throttle{"login_throttle": a.LoginThrottle, "client_auth_throttle": a.ClientAuthThrottle} {
		switch {
		case th == nil:
		case th.Free < 0:
			return at(key+".free", "must not be negative: the failures allowed before the first delay, e.g. 5")
		case th.Base < 0:
			return at(key+".base", "must not be negative: the first delay, e.g. 1s")
		case th.Max < 0:
			return at(key+".max", "must not be negative: the longest delay, e.g. 15m")
		case th.Max > 0 && th.Max < th.Base:
			return at(key+".max", "%s is shorter than base (%s): the delays grow from base up to max", th.Max, th.Base)
		}
	}
	if g := a.Argon2; g != nil {
		if g.Concurrency < 0 {
			return at("argon2.concurrency", "must not be negative: the verifications at once, e.g. 4 (0: one per CPU)")
		}
		if g.Queue < -1 {
			return at("argon2.queue", "must be -1 (none wait), 0 (8 per slot) or more")
		}
	}

	if a.Legacy != nil {
		if a.Legacy.IntrospectionURL == "" {
			return at("legacy.introspection_url", "is required: the URL of the legacy session service's introspection endpoint")
		}
		if a.Legacy.ClientID == "" {
			return at("legacy.client_id", "is required: the client id the auth server presents to the legacy service")
		}
		if err := a.Legacy.Secret.check(); err != nil {
			return at("legacy", "%v", err)
		}
	}
	orgs := map[string]bool{}
	for i, o := range a.Organizations {
		key := fmt.Sprintf("organizations[%d]", i)
		if o.ID == "" {
			return at(key+".id", "organization without id: write id: NAME")
		}
		if orgs[o.ID] {
			return at(key+".id", "organization %q listed twice: remove one", o.ID)
		}
		orgs[o.ID] = true
	}
	ids := map[string]bool{}
	for i, c := range a.Clients {
		key := fmt.Sprintf("clients[%d]", i)
		if c.ID == "" {
			return at(key+".id", "client without id: write id: NAME")
		}
		if ids[c.ID] {
			return at(key+".id", "client %q listed twice: remove one", c.ID)
		}
		ids[c.ID] = true
		if len(c.Grants) == 0 {
			return at(key+".grants", "client %q: grants is required, e.g. grants: [client_credentials]", c.ID)
		}
		for j, g := range c.Grants {
			switch g {
			case "authorization_code", "client_credentials", "refresh_token", "password", "urn:ietf:params:oauth:grant-type:token-exchange":
			default:
				return at(fmt.Sprintf("%s.grants[%d]", key, j), "client %q: unknown grant %q: use authorization_code, client_credentials, refresh_token, password or urn:ietf:params:oauth:grant-type:token-exchange", c.ID, g)
			}
		}
		set := c.Secret.Value != "" || c.Secret.Env != "" || c.Secret.File != ""
		if c.Public && set {
			return at(key+".public", "client %q is public and must not have a secret: remove secret, secret_env and secret_file, or public: true", c.ID)
		}
		if c.Public && c.Introspection {
			return at(key+".introspection", "client %q is public and cannot introspect (introspection needs client authentication): remove one of them", c.ID)
		}
		if c.Public && c.JWKSFile != "" {
			return at(key+".public", "client %q is public and must not have keys (jwks_file): remove one of them", c.ID)
		}
		if c.Public && c.TLSClientAuth() {
			return at(key+".public", "client %q is public and cannot authenticate with a TLS certificate: remove public: true or the tls_client_auth settings", c.ID)
		}
		if c.TLSClientAuthSANURI != "" {
			if u, err := url.Parse(c.TLSClientAuthSANURI); err != nil || u.Scheme == "" || u.Opaque == "" && u.Host == "" {
				return at(key+".tls_client_auth_san_uri", "client %q: %q is not an absolute URI: use the workload's SPIFFE ID, e.g. spiffe://example.org/orders", c.ID, c.TLSClientAuthSANURI)
			}
		}
		if c.TLSClientAuthSANURI != "" && c.TLSClientAuthSubjectDN != "" {
			return at(key+".tls_client_auth_subject_dn", "client %q: set tls_client_auth_san_uri or tls_client_auth_subject_dn, not both (RFC 8705 §2.1.2: one name per client)", c.ID)
		}
		if c.SelfSignedTLSClientAuth && c.JWKSFile == "" {
			return at(key+".self_signed_tls_client_auth", "client %q: self_signed_tls_client_auth needs jwks_file with the certificate's public key", c.ID)
		}
		if c.SelfSignedTLSClientAuth && (c.TLSClientAuthSANURI != "" || c.TLSClientAuthSubjectDN != "") {
			return at(key+".self_signed_tls_client_auth", "client %q: self_signed_tls_client_auth and tls_client_auth (a SAN or subject) exclude each other: keep one", c.ID)
		}
		if c.CertificateBoundTokens && c.Public {
			return at(key+".tls_client_certificate_bound_access_tokens", "client %q is public: a public client has no certificate to bind tokens to; use dpop_bound_access_tokens", c.ID)
		}
		switch { // a client of the mutual-TLS listener needs one (mtls)
		case c.TLSClientAuthSANURI != "" && (a.MTLS == nil || a.MTLS.ClientCAFile == ""):
			return at(key+".tls_client_auth_san_uri", "client %q authenticates with a CA-issued TLS certificate: set authserver.mtls with client_ca_file (the CA its certificate chains to)", c.ID)
		case c.TLSClientAuthSubjectDN != "" && (a.MTLS == nil || a.MTLS.ClientCAFile == ""):
			return at(key+".tls_client_auth_subject_dn", "client %q authenticates with a CA-issued TLS certificate: set authserver.mtls with client_ca_file (the CA its certificate chains to)", c.ID)
		case c.SelfSignedTLSClientAuth && a.MTLS == nil:
			return at(key+".self_signed_tls_client_auth", "client %q authenticates with a TLS certificate: set authserver.mtls (the mutual-TLS listener)", c.ID)
		case c.CertificateBoundTokens && a.MTLS == nil:
			return at(key+".tls_client_certificate_bound_access_tokens", "client %q gets certificate-bound tokens: set authserver.mtls (the mutual-TLS listener)", c.ID)
		}
		if !c.Public && (set || (c.JWKSFile == "" && !c.TLSClientAuth())) {
			if err := c.Secret.check(); err != nil {
				return at(key, "client %q: %v (or set jwks_file for private_key_jwt, tls_client_auth_san_uri for mutual TLS, or public: true)", c.ID, err)
			}
		}
		for j, r := range c.RedirectURIs {
			if err := identity.CheckRedirectURI(r); err != nil {
				return at(fmt.Sprintf("%s.redirect_uris[%d]", key, j), "client %q: redirect_uris: %v", c.ID, err)
			}
		}
		if hasGrant(c.Grants, "authorization_code") && len(c.RedirectURIs) == 0 {
			return at(key+".grants", "client %q uses authorization_code and needs redirect_uris, e.g. redirect_uris: [https://app.example.com/callback]", c.ID)
		}
		for j, o := range c.AllowedOrigins {
			if _, err := identity.ParseOrigin(o); err != nil {
				return at(fmt.Sprintf("%s.allowed_origins[%d]", key, j), "client %q: allowed_origins: %v", c.ID, err)
			}
		}
		for j, r := range c.PostLogoutRedirectURIs {
			if err := identity.CheckRedirectURI(r); err != nil {
				return at(fmt.Sprintf("%s.post_logout_redirect_uris[%d]", key, j), "client %q: post_logout_redirect_uris: %v", c.ID, err)
			}
		}
	}
	names := map[string]bool{}
	for i, u := range a.Users {
		key := fmt.Sprintf("users[%d]", i)
		if u.Username == "" {
			return at(key+".username", "user without username: write username: NAME")
		}
		if names[u.Username] {
			return at(key+".username", "user %q listed twice: remove one", u.Username)
		}
		names[u.Username] = true
		n := 0
		for _, v := range []string{u.Password, u.PasswordEnv, u.PasswordFile, u.PasswordHash} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return at(key, "user %q needs exactly one of password, password_env, password_file, password_hash", u.Username)
		}
		if u.PasswordHash != "" && !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			return at(key+".password_hash", "user %q: password_hash must be an argon2id hash ($argon2id$...)", u.Username)
		}
		if u.Org != "" && len(orgs) > 0 && !orgs[u.Org] {
			return at(key+".org", "user %q: organization %q is not listed under organizations: add it there or fix the name", u.Username, u.Org)
		}
	}
	return nil
}

// validate checks the mtls block (nil: none).
func (m *MTLS) validate(at func(key, format string, args ...any) error) error {
	if m == nil {
		return nil
	}
	if m.Listen == "" {
		return at("mtls.listen", "is required: the address of the mutual-TLS listener, e.g. 0.0.0.0:9443")
	}
	u, err := url.Parse(m.URL)
	switch {
	case m.URL == "":
		return at("mtls.url", "is required: the https URL clients reach the mutual-TLS listener at, e.g. https://auth.example.com:9443")
	case err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(m.URL, "/"):
		return at("mtls.url", "%q must be an absolute https URL without query, fragment or trailing slash, e.g. https://auth.example.com:9443", m.URL)
	case m.CertFile == "":
		return at("mtls.cert_file", "is required: the listener's certificate (PEM)")
	case m.KeyFile == "":
		return at("mtls.key_file", "is required: the listener's private key (PEM)")
	}
	return nil
}

func hasGrant(gs []string, g string) bool {
	for _, v := range gs {
		if v == g {
			return true
		}
	}
	return false
}
