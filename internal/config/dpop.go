package config

import (
	"errors"
	"time"
)

// DPoP is authserver.dpop: DPoP proofs (RFC 9449) at the token endpoint
// and userinfo (authserver.Config.DPoP). Proofs are always accepted; this
// block tunes them.
type DPoP struct {
	Line int `yaml:"-" json:"-"`
	// Window is how old a proof may be (0: the default 60s; at most 10m).
	Window time.Duration `yaml:"window"`
	// Nonce requires a server nonce in every token endpoint proof (RFC
	// 9449 §8, use_dpop_nonce).
	Nonce bool `yaml:"nonce"`
	// NonceSecretEnv or NonceSecretFile hold the secret (at least 32
	// bytes) that every auth server instance derives the nonces from;
	// neither: a random secret per process (nonces of one instance are
	// then refused by the others).
	NonceSecretEnv  string `yaml:"nonce_secret_env"`
	NonceSecretFile string `yaml:"nonce_secret_file"`
}

// maxDPoPWindow bounds authserver.dpop.window.
const maxDPoPWindow = 10 * time.Minute

// minNonceSecret is the shortest nonce secret (dpop.MinNonceSecretBytes).
const minNonceSecret = 32

// validate checks the dpop block (nil: the defaults).
func (d *DPoP) validate(at func(key, format string, args ...any) error) error {
	if d == nil {
		return nil
	}
	switch {
	case d.Window < 0 || d.Window > maxDPoPWindow:
		return at("dpop.window", "must be between 1s and 10m (0: the default 60s), e.g. 60s")
	case d.Window > 0 && d.Window < time.Second:
		return at("dpop.window", "must be at least 1s, e.g. 60s")
	case d.NonceSecretEnv != "" && d.NonceSecretFile != "":
		return at("dpop.nonce_secret_file", "give nonce_secret_env or nonce_secret_file, not both: remove one")
	case !d.Nonce && (d.NonceSecretEnv != "" || d.NonceSecretFile != ""):
		return at("dpop.nonce", "a nonce secret is given but nonce is not true: add nonce: true or remove the secret")
	}
	return nil
}

// SharedNonceSecret reports whether the nonce secret comes from the
// environment or a file (and so may be the same on every instance).
func (d *DPoP) SharedNonceSecret() bool {
	return d != nil && (d.NonceSecretEnv != "" || d.NonceSecretFile != "")
}

// ResolveNonceSecret returns the nonce secret (nil when none is named).
// The error names where it looked, never the value.
func (d *DPoP) ResolveNonceSecret() ([]byte, error) {
	if !d.SharedNonceSecret() {
		return nil, nil
	}
	v, err := resolve("", d.NonceSecretEnv, d.NonceSecretFile, "nonce_secret")
	if err != nil {
		return nil, err
	}
	if len(v) < minNonceSecret {
		return nil, errors.New("nonce secret: shorter than 32 bytes (make one with 'openssl rand -base64 48')")
	}
	return []byte(v), nil
}
