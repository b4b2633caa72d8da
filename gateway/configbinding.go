package gateway

import (
	"net/netip"
	"time"
)

// The keys of sender-constrained tokens (RFC 8705, RFC 9449): where the
// gateway finds the client certificate of a certificate-bound token, and
// how it checks the DPoP proofs of DPoP-bound tokens. Validated in
// validatebinding.go, built in binding.go. See docs/bound-tokens.md.

// ClientCertificate is the header a TLS-terminating proxy in front of the
// gateway writes the client certificate to (gateway.client_certificate).
// Only requests whose TCP peer is in TrustedProxies are read; from any
// other peer the header is removed before routing, so that neither the
// token check nor an upstream ever sees one a client wrote.
type ClientCertificate struct {
	// Header is the header field name, such as X-Forwarded-Client-Cert.
	Header string `yaml:"header"`
	// Format is xfcc (Envoy's X-Forwarded-Client-Cert, Hash or Cert),
	// pem (URL-encoded PEM, nginx $ssl_client_escaped_cert) or rfc9440
	// (Client-Cert, base64 DER between colons).
	Format string `yaml:"format"`
	// TrustedProxies are the addresses and CIDR prefixes of the proxies
	// that write the header (at least one; not gateway.trusted_proxies,
	// which only vouch for the client address).
	TrustedProxies []string `yaml:"trusted_proxies"`

	trusted []netip.Prefix // parsed by Validate
}

// DPoP is how the gateway checks DPoP proofs (gateway.dpop). Without the
// section, DPoP-bound tokens are refused and the DPoP scheme counts as no
// token.
type DPoP struct {
	// Replay is where the jti of every accepted proof is kept: memory
	// (default: this process) or redis (the Redis of ratelimit, shared by
	// every gateway instance: a proof replayed to another instance is
	// refused; needs ratelimit.backend redis).
	Replay string `yaml:"replay"`
	// Window is how old a proof may be (default 60s, at most 10m); a proof
	// may be 5s ahead of the gateway's clock.
	Window time.Duration `yaml:"window"`
	// ExternalURL is the URL clients send requests to, such as
	// https://api.example.com: the proof names it with the request path
	// (htu). Default: https when the gateway serves TLS, else http, and
	// the request's Host. Set it behind a TLS-terminating proxy.
	ExternalURL string `yaml:"external_url"`
	// Forwarded takes the scheme and host that proofs name from the
	// trusted proxies (trusted_proxies) instead: X-Forwarded-Proto and
	// X-Forwarded-Host (the request's Host without it), or proto= and
	// host= of Forwarded with client_ip_header: forwarded (the element of
	// the proxy that faced the client); for a proxy that serves several
	// hosts. X-Forwarded-Proto and -Host must hold one value each.
	// Requests from other peers, or without the headers, count with their
	// own scheme and Host; headers that cannot be read refuse the proof.
	// Not with ExternalURL.
	Forwarded bool `yaml:"forwarded"`
	// ForwardedHosts, with Forwarded, are the hosts (host or host:port,
	// as clients write them) the forwarded origin may name; any other
	// refuses the proof. Set it behind a proxy that passes on a client's
	// X-Forwarded-Host (or Forwarded) instead of setting it, so that a
	// client cannot name a host of its choosing. Empty: any host.
	ForwardedHosts []string `yaml:"forwarded_hosts"`
	// Algorithms are the proof algorithms accepted (default ES256 ES384
	// ES512 EdDSA RS256 PS256; asymmetric only).
	Algorithms []string `yaml:"algorithms"`
	// Nonce requires every proof to carry a server nonce (RFC 9449 §9),
	// which bounds how long a proof made ahead of time is good for: a proof
	// without the current nonce is answered 401 use_dpop_nonce with a
	// fresh one in the DPoP-Nonce header, and the client signs again with
	// it. The nonces need no state: an HMAC of the time step, a new one
	// every 5 minutes, the one before and the next (that of an instance
	// whose clock runs ahead) still accepted.
	Nonce bool `yaml:"nonce"`
	// NonceSecretEnv names the environment variable that holds the secret
	// (at least 32 bytes) the nonces derive from, resolved by
	// [Config.ResolveEnv]: the same secret on every gateway instance makes
	// a nonce one instance gave good at the others. Without it the process
	// makes its own secret, kept across reloads.
	NonceSecretEnv string `yaml:"nonce_secret_env"`

	nonceSecret []byte // NonceSecretEnv's value (ResolveEnv)
}
