// Package config reads gatehouse.yaml: one file with the sections
// authserver, gateway and services. Unknown keys, wrong types and invalid
// values fail with the file, the line and the reason; every secret can come
// from the file, an environment variable (NAME_env) or a file (NAME_file).
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehousehq/gatehouse/gateway"
	"github.com/gatehousehq/gatehouse/internal/strictyaml"
	"github.com/gatehousehq/gatehouse/keys"
)

// MaxFileBytes bounds the configuration file.
const MaxFileBytes = 1 << 20

// File is the whole configuration file, decoded and validated: a ready
// plan. Relative paths in it (authserver.data, secret_file, password_file,
// jwks_file, gateway.tls) are already joined to the file's folder.
type File struct {
	// Path is where the file was read from (for messages).
	Path string `yaml:"-"`
	// Dir is the folder of the file, which relative paths are relative to.
	Dir        string      `yaml:"-"`
	AuthServer *AuthServer `yaml:"authserver"`
	// Gateway is the gateway section, validated by package gateway. The
	// values it names by environment variable are resolved by the caller
	// (gateway.Config.ResolveEnv), since only a serving process needs them.
	Gateway *gateway.Config `yaml:"gateway"`
	// Services is reserved for the services of a later release: accepted
	// as any YAML and not read.
	Services *Raw `yaml:"services"`

	lines strictyaml.Lines
}

// fileYAML is what the decoder fills: the gateway section is decoded by
// package gateway from its node.
type fileYAML struct {
	AuthServer *AuthServer `yaml:"authserver"`
	Gateway    *yaml.Node  `yaml:"gateway"`
	Services   *Raw        `yaml:"services"`
}

// Line returns the line of a key path ("authserver.listen",
// "gateway.routes[1]") in the file, or of its closest enclosing key.
func (f *File) Line(key string) int {
	if rest, ok := strings.CutPrefix(key, "gateway."); ok && f.Gateway != nil {
		if n := f.Gateway.Line(rest); n > 0 {
			return n
		}
	}
	return f.lines.Of(key)
}

// AuthServer is the authserver section.
type AuthServer struct {
	Line            int           `yaml:"-" json:"-"`
	Issuer          string        `yaml:"issuer"`
	Listen          string        `yaml:"listen"`
	Data            string        `yaml:"data"`
	Store           string        `yaml:"store"`
	SigningAlg      string        `yaml:"signing_alg"`
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl"`
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"`
	// RefreshTokenGrace is authserver.Config.RefreshTokenGrace: how long a
	// client retrying a refresh gets the same answer (0: the default 15s;
	// off: a negative value such as -1s).
	RefreshTokenGrace time.Duration `yaml:"refresh_token_grace"`
	Legacy            *Legacy       `yaml:"legacy"`
	Organizations     []Org         `yaml:"organizations"`
	Clients           []Client      `yaml:"clients"`
	Users             []User        `yaml:"users"`

	// LoginThrottle and ClientAuthThrottle are authserver.Config.Throttle
	// and ClientThrottle (nil: the defaults), Argon2 its
	// Argon2Concurrency and Argon2Queue.
	LoginThrottle      *Throttle `yaml:"login_throttle"`
	ClientAuthThrottle *Throttle `yaml:"client_auth_throttle"`
	Argon2             *Argon2   `yaml:"argon2"`

	// Redis (a redis:// or rediss:// URL) or RedisEnv (the environment
	// variable that holds it, since the URL may carry a password) makes
	// the auth server share its revocations and identity cache with the
	// other instances and the services through Redis.
	Redis    string `yaml:"redis"`
	RedisEnv string `yaml:"redis_env"`
	// AdminListen is the address of the auth server's /metrics, /healthz
	// and /readyz; empty: none. Keep it private.
	AdminListen string `yaml:"admin_listen"`
	// Limits bound what one client may hold of the auth server's
	// listener (nil: the defaults of ServerLimits).
	Limits *ServerLimits `yaml:"limits"`
	// KeyEncryption names the secrets that seal the signing keys in the
	// store (nil: keys are stored in clear, with a warning at start).
	KeyEncryption *KeyEncryption `yaml:"key_encryption"`
	// MTLS is the auth server's mutual-TLS listener (RFC 8705): client
	// authentication with TLS certificates and certificate-bound tokens
	// (nil: none).
	MTLS *MTLS `yaml:"mtls"`
	// RequirePAR requires every client to push its authorization requests
	// (RFC 9126 require_pushed_authorization_requests).
	RequirePAR bool `yaml:"require_pushed_authorization_requests"`
	// DPoP tunes DPoP proofs (RFC 9449) at the token endpoint: the
	// window and server nonces (nil: the defaults; see dpop.go).
	DPoP *DPoP `yaml:"dpop"`

	// Algorithm is SigningAlg parsed by the loader (keys.Default when
	// signing_alg is not set).
	Algorithm keys.Algorithm `yaml:"-" json:"-"`
}

// MTLS is the mutual-TLS listener of the auth server (RFC 8705): it
// serves the same endpoints as listen over TLS, asks every client for a
// certificate (without requiring one), and authenticates clients
// registered for tls_client_auth (by CA and SAN or subject) or
// self_signed_tls_client_auth (by key) by it.
type MTLS struct {
	Line int `yaml:"-" json:"-"`
	// Listen is the address, e.g. 0.0.0.0:9443.
	Listen string `yaml:"listen"`
	// URL is the https base URL clients reach the listener at, published
	// in discovery as mtls_endpoint_aliases.
	URL string `yaml:"url"`
	// CertFile and KeyFile are the server's certificate (PEM, the chain)
	// and key; they are read again when they change.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ClientCAFile is a PEM bundle of the CAs tls_client_auth
	// certificates chain to; for gatehouse workloads the SPIFFE CA that
	// 'gatehouse ca init' writes. Empty: only self_signed_tls_client_auth.
	ClientCAFile string `yaml:"client_ca_file"`
}

// ServerLimits bound slow and greedy clients of the auth server's
// listener; zero values take the defaults of 'gatehouse serve' (10s, 30s,
// 256).
type ServerLimits struct {
	// BodyIdleTimeout is the longest wait for the next bytes of a request
	// body; BodyTimeout the longest time for a whole body. Past either
	// the request fails and the connection is closed.
	BodyIdleTimeout time.Duration `yaml:"body_idle_timeout"`
	BodyTimeout     time.Duration `yaml:"body_timeout"`
	// MaxConnectionsPerIP bounds the connections open at once from one
	// TCP peer address; a connection past it is closed at once.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
}

// Throttle tunes a brute-force throttle of the auth server
// (authserver.ThrottleConfig): after Free failures for one key (an account,
// a client id; an IP gets ten times as many), each attempt waits Base,
// doubling, at most Max. Zero values take the defaults.
type Throttle struct {
	Line int           `yaml:"-" json:"-"`
	Free int           `yaml:"free"`
	Base time.Duration `yaml:"base"`
	Max  time.Duration `yaml:"max"`
}

// Argon2 bounds the argon2id verifications (passwords, client secrets) in
// flight: Concurrency at once (0: GOMAXPROCS), Queue more waiting (0: 8
// per slot; -1: none); past both, 503.
type Argon2 struct {
	Line        int `yaml:"-" json:"-"`
	Concurrency int `yaml:"concurrency"`
	Queue       int `yaml:"queue"`
}

// Legacy configures the legacy-session bridge of token exchange.
type Legacy struct {
	Line             int    `yaml:"-" json:"-"`
	IntrospectionURL string `yaml:"introspection_url"`
	ClientID         string `yaml:"client_id"`
	Secret           Secret `yaml:",inline"`
	TokenType        string `yaml:"token_type"`
}

// Org is an organization.
type Org struct {
	Line int    `yaml:"-" json:"-"`
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Client is a bootstrap client.
type Client struct {
	Line            int           `yaml:"-" json:"-"`
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
	// Introspection lets the client introspect every token of the server
	// (identity.Client.Introspection), not only its own and those for it.
	Introspection bool `yaml:"introspection"`

	// TLSClientAuthSANURI is the URI SAN (for a gatehouse workload, its
	// SPIFFE ID) of the certificate the client authenticates with on the
	// mTLS listener (RFC 8705 tls_client_auth); a client with it needs no
	// secret.
	TLSClientAuthSANURI string `yaml:"tls_client_auth_san_uri"`
	// TLSClientAuthSubjectDN is the subject DN of that certificate instead
	// (RFC 4514, e.g. "CN=orders,O=Example").
	TLSClientAuthSubjectDN string `yaml:"tls_client_auth_subject_dn"`
	// SelfSignedTLSClientAuth lets the client authenticate with a
	// self-signed certificate whose key is in jwks_file (RFC 8705
	// self_signed_tls_client_auth).
	SelfSignedTLSClientAuth bool `yaml:"self_signed_tls_client_auth"`
	// CertificateBoundTokens binds the client's access tokens to its TLS
	// certificate (RFC 8705 tls_client_certificate_bound_access_tokens).
	CertificateBoundTokens bool `yaml:"tls_client_certificate_bound_access_tokens"`
	// DPoPBoundTokens requires DPoP at the token endpoint (RFC 9449
	// dpop_bound_access_tokens).
	DPoPBoundTokens bool `yaml:"dpop_bound_access_tokens"`
	// RequirePAR requires pushed authorization requests (RFC 9126
	// require_pushed_authorization_requests).
	RequirePAR bool `yaml:"require_pushed_authorization_requests"`
}

// TLSClientAuth reports whether the client authenticates with a TLS client
// certificate (tls_client_auth or self_signed_tls_client_auth).
func (c *Client) TLSClientAuth() bool {
	return c.TLSClientAuthSANURI != "" || c.TLSClientAuthSubjectDN != "" || c.SelfSignedTLSClientAuth
}

// User is a bootstrap user.
type User struct {
	Line         int      `yaml:"-" json:"-"`
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

// KeyEncryption names the key-encryption secrets that seal the private
// signing keys in the store (package keys/keyseal): the current one
// (SecretEnv or SecretFile), which seals and opens, and Previous ones,
// which only open, while the secret is rotated. A key-encryption secret
// never sits in the file itself, which is often shared and kept in git,
// nor in the store it protects: an environment variable or a file.
type KeyEncryption struct {
	Line       int         `yaml:"-" json:"-"`
	SecretEnv  string      `yaml:"secret_env"`
	SecretFile string      `yaml:"secret_file"`
	Previous   []KeySecret `yaml:"previous"`
}

// KeySecret is one key-encryption secret: an environment variable or a
// file (its content without the trailing line break).
type KeySecret struct {
	Line int    `yaml:"-" json:"-"`
	Env  string `yaml:"secret_env"`
	File string `yaml:"secret_file"`
}

// Current is the current secret of k.
func (k *KeyEncryption) Current() KeySecret {
	return KeySecret{Line: k.Line, Env: k.SecretEnv, File: k.SecretFile}
}

// Resolve returns the secret's value. The error names where it looked,
// never the value.
func (s KeySecret) Resolve() ([]byte, error) {
	v, err := resolve("", s.Env, s.File, "secret")
	return []byte(v), err
}

// Secret is a secret given inline, by environment variable or by file.
type Secret struct {
	Value string `yaml:"secret"`
	Env   string `yaml:"secret_env"`
	File  string `yaml:"secret_file"`
}

// Error is a configuration error: the file, the line, the key path and
// the reason, which says how to fix it. It prints as
// "FILE:LINE: key: reason".
type Error = strictyaml.Error

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

// Parse decodes and validates configuration data; path is used in
// messages and its folder is where relative paths in the file start.
func Parse(path string, data []byte) (*File, error) {
	root, err := strictyaml.ParseDocument(path, data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, &Error{Path: path, Reason: "the file is empty: it needs an authserver, gateway or services section"}
	}
	var raw fileYAML
	lines := strictyaml.Lines{}
	if err := strictyaml.Decode(path, root, "", &raw, lines); err != nil {
		return nil, err
	}
	f := &File{Path: path, Dir: filepath.Dir(path), AuthServer: raw.AuthServer, Services: raw.Services, lines: lines}
	if f.AuthServer == nil && raw.Gateway == nil && f.Services == nil {
		return nil, &Error{Path: path, Line: root.Line, Reason: "no authserver, gateway or services section: write at least one of them at the start of a line, e.g. authserver:"}
	}
	if f.AuthServer != nil {
		if err := f.AuthServer.validate(path, lines); err != nil {
			return nil, err
		}
		f.AuthServer.resolvePaths(f.Dir)
	}
	if raw.Gateway != nil {
		g, err := gateway.DecodeConfig(path, raw.Gateway)
		if err != nil {
			var ge *gateway.ConfigError
			if errors.As(err, &ge) {
				key := "gateway"
				if ge.Key != "" && ge.Key != "gateway" {
					key = "gateway." + ge.Key
				}
				return nil, &Error{Path: ge.Path, Line: ge.Line, Key: key, Reason: ge.Reason}
			}
			return nil, err
		}
		resolveGatewayPaths(g, f.Dir)
		f.Gateway = g
	}
	return f, nil
}

// DefaultData is the folder of the embedded store when the authserver
// section names neither data nor store, relative to the file's folder.
const DefaultData = "gatehouse-data"

// resolvePaths joins the relative paths of the section to dir, and gives
// data its default (DefaultData) when the section names no store.
func (a *AuthServer) resolvePaths(dir string) {
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if a.Data == "" && a.Store == "" {
		a.Data = DefaultData
	}
	rel(&a.Data)
	if a.Legacy != nil {
		rel(&a.Legacy.Secret.File)
	}
	if m := a.MTLS; m != nil {
		rel(&m.CertFile)
		rel(&m.KeyFile)
		rel(&m.ClientCAFile)
	}
	if a.DPoP != nil {
		rel(&a.DPoP.NonceSecretFile)
	}
	if k := a.KeyEncryption; k != nil {
		rel(&k.SecretFile)
		for i := range k.Previous {
			rel(&k.Previous[i].File)
		}
	}
	for i := range a.Clients {
		rel(&a.Clients[i].Secret.File)
		rel(&a.Clients[i].JWKSFile)
	}
	for i := range a.Users {
		rel(&a.Users[i].PasswordFile)
	}
}

func resolveGatewayPaths(g *gateway.Config, dir string) {
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if g.TLS != nil {
		rel(&g.TLS.CertFile)
		rel(&g.TLS.KeyFile)
	}
	for i := range g.Issuers {
		rel(&g.Issuers[i].JWKSFile)
	}
}

// Equal reports whether two authserver sections configure the same thing
// (lines aside), for a reload to say whether the section changed.
func (a *AuthServer) Equal(b *AuthServer) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func (s KeySecret) check() error {
	if (s.Env == "") == (s.File == "") {
		return errors.New("needs exactly one of secret_env, secret_file (a key-encryption secret is never written in the file)")
	}
	return nil
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
