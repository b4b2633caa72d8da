// Package config reads gatehouse.yaml: one file with the sections
// authserver, gateway and services. Unknown keys, wrong types and invalid
// values fail with the file, the line and the reason; every secret can come
// from the file, an environment variable (NAME_env) or a file (NAME_file).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/gatehousehq/gatehouse/identity"
	"io"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxFileBytes bounds the configuration file.
const MaxFileBytes = 1 << 20

// File is the whole configuration file.
type File struct {
	// Path is where the file was read from (for messages).
	Path       string      `yaml:"-"`
	AuthServer *AuthServer `yaml:"authserver"`
	// Gateway and Services are read by later components; kept raw here so
	// that a file with them still loads.
	Gateway  *Raw `yaml:"gateway"`
	Services *Raw `yaml:"services"`
}

// AuthServer is the authserver section.
type AuthServer struct {
	Line            int           `yaml:"-"`
	Issuer          string        `yaml:"issuer"`
	Listen          string        `yaml:"listen"`
	Data            string        `yaml:"data"`
	Store           string        `yaml:"store"`
	SigningAlg      string        `yaml:"signing_alg"`
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl"`
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"`
	Legacy          *Legacy       `yaml:"legacy"`
	Organizations   []Org         `yaml:"organizations"`
	Clients         []Client      `yaml:"clients"`
	Users           []User        `yaml:"users"`

	// Redis (a redis:// or rediss:// URL) or RedisEnv (the environment
	// variable that holds it, since the URL may carry a password) makes
	// the auth server share its revocations and identity cache with the
	// other instances and the services through Redis.
	Redis    string `yaml:"redis"`
	RedisEnv string `yaml:"redis_env"`
	// AdminListen is the address of the auth server's /metrics, /healthz
	// and /readyz; empty: none. Keep it private.
	AdminListen string `yaml:"admin_listen"`
}

// Legacy configures the legacy-session bridge of token exchange.
type Legacy struct {
	Line             int    `yaml:"-"`
	IntrospectionURL string `yaml:"introspection_url"`
	ClientID         string `yaml:"client_id"`
	Secret           Secret `yaml:",inline"`
	TokenType        string `yaml:"token_type"`
}

// Org is an organization.
type Org struct {
	Line int    `yaml:"-"`
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Client is a bootstrap client.
type Client struct {
	Line            int           `yaml:"-"`
	ID              string        `yaml:"id"`
	Name            string        `yaml:"name"`
	Public          bool          `yaml:"public"`
	Secret          Secret        `yaml:",inline"`
	Grants          []string      `yaml:"grants"`
	RedirectURIs    []string      `yaml:"redirect_uris"`
	Scopes          []string      `yaml:"scopes"`
	Audiences       []string      `yaml:"audiences"`
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl"`
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"`
	// JWKSFile is a file with the client's public keys (a JWKS) for
	// private_key_jwt client authentication (RFC 7523); a client with it
	// needs no secret.
	JWKSFile string `yaml:"jwks_file"`
	// AllowedOrigins are browser origins (scheme://host[:port]) the auth
	// server answers CORS requests of this client from, beside those of
	// its redirect URIs.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// PostLogoutRedirectURIs are where RP-initiated logout may return the
	// browser to, matched exactly.
	PostLogoutRedirectURIs []string `yaml:"post_logout_redirect_uris"`
}

// User is a bootstrap user.
type User struct {
	Line         int      `yaml:"-"`
	Username     string   `yaml:"username"`
	Email        string   `yaml:"email"`
	Name         string   `yaml:"name"`
	Password     string   `yaml:"password"`
	PasswordEnv  string   `yaml:"password_env"`
	PasswordFile string   `yaml:"password_file"`
	PasswordHash string   `yaml:"password_hash"`
	Org          string   `yaml:"org"`
	Groups       []string `yaml:"groups"`
	Roles        []string `yaml:"roles"`
	Disabled     bool     `yaml:"disabled"`
}

// Secret is a secret given inline, by environment variable or by file.
type Secret struct {
	Value string `yaml:"secret"`
	Env   string `yaml:"secret_env"`
	File  string `yaml:"secret_file"`
}

// Error is a configuration error at a line of the file.
type Error struct {
	Path   string
	Line   int
	Reason string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Reason)
	}
	return fmt.Sprintf("%s: %s", e.Path, e.Reason)
}

// Load reads and validates the file at path.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return nil, &Error{Path: path, Reason: fmt.Sprintf("file is larger than %d bytes", MaxFileBytes)}
	}
	return Parse(path, data)
}

// Parse decodes and validates configuration data; path is used in messages.
func Parse(path string, data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Path: path, Reason: "the file is empty: it needs an authserver, gateway or services section"}
		}
		return nil, yamlError(path, err)
	}
	f.Path = path
	if f.AuthServer == nil && f.Gateway == nil && f.Services == nil {
		return nil, &Error{Path: path, Reason: "no authserver, gateway or services section"}
	}
	if f.AuthServer != nil {
		if err := f.AuthServer.validate(path); err != nil {
			return nil, err
		}
	}
	return &f, nil
}

// yamlError turns a yaml.v3 error ("yaml: line 3: ...") into an Error.
func yamlError(path string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		line := 0
		msg := te.Errors[0]
		if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
			msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
		}
		return &Error{Path: path, Line: line, Reason: msg}
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	return &Error{Path: path, Line: line, Reason: msg}
}

// UnmarshalYAML records the line of each list item and section.
func (a *AuthServer) UnmarshalYAML(n *yaml.Node) error {
	type plain AuthServer
	if err := checkKeys(n, plain{}); err != nil {
		return err
	}
	if err := n.Decode((*plain)(a)); err != nil {
		return err
	}
	a.Line = n.Line
	return nil
}

// UnmarshalYAML records the line.
func (c *Client) UnmarshalYAML(n *yaml.Node) error {
	type plain Client
	if err := checkKeys(n, plain{}); err != nil {
		return err
	}
	if err := n.Decode((*plain)(c)); err != nil {
		return err
	}
	c.Line = n.Line
	return nil
}

// UnmarshalYAML records the line.
func (u *User) UnmarshalYAML(n *yaml.Node) error {
	type plain User
	if err := checkKeys(n, plain{}); err != nil {
		return err
	}
	if err := n.Decode((*plain)(u)); err != nil {
		return err
	}
	u.Line = n.Line
	return nil
}

// UnmarshalYAML records the line.
func (o *Org) UnmarshalYAML(n *yaml.Node) error {
	type plain Org
	if err := checkKeys(n, plain{}); err != nil {
		return err
	}
	if err := n.Decode((*plain)(o)); err != nil {
		return err
	}
	o.Line = n.Line
	return nil
}

// UnmarshalYAML records the line.
func (l *Legacy) UnmarshalYAML(n *yaml.Node) error {
	type plain Legacy
	if err := checkKeys(n, plain{}); err != nil {
		return err
	}
	if err := n.Decode((*plain)(l)); err != nil {
		return err
	}
	l.Line = n.Line
	return nil
}

// checkKeys refuses mapping keys that are not yaml fields of v's type
// (yaml.v3 does not apply KnownFields inside custom unmarshalers).
func checkKeys(n *yaml.Node, v any) error {
	if n.Kind != yaml.MappingNode {
		return nil // Decode reports the type error
	}
	known := map[string]bool{}
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			if opts == "inline" {
				collect(f.Type)
				continue
			}
			if name != "" && name != "-" {
				known[name] = true
			}
		}
	}
	collect(reflect.TypeOf(v))
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !known[k.Value] {
			return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: unknown field %q", k.Line, k.Value)}}
		}
	}
	return nil
}

func (a *AuthServer) validate(path string) error {
	at := func(line int, format string, args ...any) error {
		return &Error{Path: path, Line: line, Reason: fmt.Sprintf(format, args...)}
	}
	if a.Issuer == "" {
		return at(a.Line, "authserver: issuer is required, e.g. issuer: http://127.0.0.1:9000")
	}
	u, err := url.Parse(a.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(a.Issuer, "/") {
		return at(a.Line, "authserver: issuer %q must be an absolute http(s) URL without query, fragment or trailing slash", a.Issuer)
	}
	if a.Data != "" && a.Store != "" {
		return at(a.Line, "authserver: give data (a SQLite folder) or store (a postgres:// URL), not both")
	}
	if a.Store != "" && !strings.HasPrefix(a.Store, "postgres://") && !strings.HasPrefix(a.Store, "postgresql://") {
		return at(a.Line, "authserver: store must be a postgres:// URL; for the embedded store use data: DIR")
	}
	if a.Redis != "" && a.RedisEnv != "" {
		return at(a.Line, "authserver: give redis (a URL) or redis_env (the variable that holds it), not both")
	}
	if a.Redis != "" && !strings.HasPrefix(a.Redis, "redis://") && !strings.HasPrefix(a.Redis, "rediss://") && !strings.HasPrefix(a.Redis, "unix://") {
		return at(a.Line, "authserver: redis must be a redis:// or rediss:// URL")
	}
	if a.AccessTokenTTL < 0 || a.RefreshTokenTTL < 0 {
		return at(a.Line, "authserver: token lifetimes must be positive durations like 15m")
	}
	if a.Legacy != nil {
		if a.Legacy.IntrospectionURL == "" || a.Legacy.ClientID == "" {
			return at(a.Legacy.Line, "authserver.legacy: introspection_url and client_id are required")
		}
		if err := a.Legacy.Secret.check(); err != nil {
			return at(a.Legacy.Line, "authserver.legacy: %v", err)
		}
	}
	orgs := map[string]bool{}
	for _, o := range a.Organizations {
		if o.ID == "" {
			return at(o.Line, "organization without id")
		}
		if orgs[o.ID] {
			return at(o.Line, "organization %q listed twice", o.ID)
		}
		orgs[o.ID] = true
	}
	ids := map[string]bool{}
	for _, c := range a.Clients {
		if c.ID == "" {
			return at(c.Line, "client without id")
		}
		if ids[c.ID] {
			return at(c.Line, "client %q listed twice", c.ID)
		}
		ids[c.ID] = true
		if len(c.Grants) == 0 {
			return at(c.Line, "client %q: grants is required, e.g. grants: [client_credentials]", c.ID)
		}
		for _, g := range c.Grants {
			switch g {
			case "authorization_code", "client_credentials", "refresh_token", "password", "urn:ietf:params:oauth:grant-type:token-exchange":
			default:
				return at(c.Line, "client %q: unknown grant %q", c.ID, g)
			}
		}
		set := c.Secret.Value != "" || c.Secret.Env != "" || c.Secret.File != ""
		if c.Public && set {
			return at(c.Line, "client %q is public and must not have a secret", c.ID)
		}
		if c.Public && c.JWKSFile != "" {
			return at(c.Line, "client %q is public and must not have keys (jwks_file)", c.ID)
		}
		if !c.Public && (set || c.JWKSFile == "") {
			if err := c.Secret.check(); err != nil {
				return at(c.Line, "client %q: %v (or set jwks_file for private_key_jwt, or public: true)", c.ID, err)
			}
		}
		for _, r := range c.RedirectURIs {
			if err := identity.CheckRedirectURI(r); err != nil {
				return at(c.Line, "client %q: redirect_uris: %v", c.ID, err)
			}
		}
		if hasGrant(c.Grants, "authorization_code") && len(c.RedirectURIs) == 0 {
			return at(c.Line, "client %q uses authorization_code and needs redirect_uris", c.ID)
		}
		for _, o := range c.AllowedOrigins {
			if _, err := identity.ParseOrigin(o); err != nil {
				return at(c.Line, "client %q: allowed_origins: %v", c.ID, err)
			}
		}
		for _, r := range c.PostLogoutRedirectURIs {
			if err := identity.CheckRedirectURI(r); err != nil {
				return at(c.Line, "client %q: post_logout_redirect_uris: %v", c.ID, err)
			}
		}
	}
	names := map[string]bool{}
	for _, u := range a.Users {
		if u.Username == "" {
			return at(u.Line, "user without username")
		}
		if names[u.Username] {
			return at(u.Line, "user %q listed twice", u.Username)
		}
		names[u.Username] = true
		n := 0
		for _, v := range []string{u.Password, u.PasswordEnv, u.PasswordFile, u.PasswordHash} {
			if v != "" {
				n++
			}
		}
		if n != 1 {
			return at(u.Line, "user %q needs exactly one of password, password_env, password_file, password_hash", u.Username)
		}
		if u.PasswordHash != "" && !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			return at(u.Line, "user %q: password_hash must be an argon2id hash ($argon2id$...)", u.Username)
		}
		if u.Org != "" && len(orgs) > 0 && !orgs[u.Org] {
			return at(u.Line, "user %q: organization %q is not listed under organizations", u.Username, u.Org)
		}
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

func (s Secret) check() error {
	n := 0
	for _, v := range []string{s.Value, s.Env, s.File} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return errors.New("needs exactly one of secret, secret_env, secret_file")
	}
	return nil
}

// Resolve returns the secret's value from the file, the environment or a
// file. The error names where it looked, never the value.
func (s Secret) Resolve() (string, error) {
	return resolve(s.Value, s.Env, s.File, "secret")
}

// ResolvePassword returns the user's clear password ("" when the file gives
// a hash).
func (u User) ResolvePassword() (string, error) {
	if u.PasswordHash != "" {
		return "", nil
	}
	return resolve(u.Password, u.PasswordEnv, u.PasswordFile, "password")
}

func resolve(value, env, file, what string) (string, error) {
	switch {
	case value != "":
		return value, nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is not set", what, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s_file: %w", what, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s_file: %s is empty", what, file)
		}
		return v, nil
	}
	return "", fmt.Errorf("no %s given", what)
}
