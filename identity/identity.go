// Package identity holds who may get a token: users, organizations, OAuth
// clients, and the state of the grants in flight (authorization codes,
// refresh token families, revocations). [Store] is the storage contract; the
// engines are identity/sqlite (embedded default) and identity/postgres
// (several auth server instances), and both pass the same test suite,
// identity/storetest.
//
// Secrets never reach a store in the clear: passwords are argon2id hashes
// ([HashPassword]), client secrets are argon2id hashes too ([HashSecret]),
// authorization codes and refresh tokens are stored as SHA-256 hashes
// ([HashToken]) of high-entropy random values. The auth server's signing
// keys, which must be read back, are sealed with AES-256-GCM under a
// key-encryption secret kept outside the store (package keys/keyseal; the
// engines' WithKeySealer option); a store opened without one keeps them as
// clear private JWKs, and then the store itself (file mode 0600, database
// access, backups) must be protected like the keys.
package identity

import (
	"errors"
	"fmt"
	"github.com/gatehousehq/gatehouse/revocation"
	"net/url"
	"strings"
	"time"
)

// Errors the stores return; callers branch with errors.Is.
var (
	// ErrNotFound: no such user, client, code or token.
	ErrNotFound = errors.New("identity: not found")
	// ErrConflict: a user name or client id already exists.
	ErrConflict = errors.New("identity: already exists")
	// ErrCodeUsed: an authorization code was already redeemed. The returned
	// code still carries what the first redemption issued, so the caller
	// can revoke it (RFC 6749 §4.1.2).
	ErrCodeUsed = errors.New("identity: authorization code already used")
	// ErrRefreshReused: a rotated refresh token was presented again; the
	// store has revoked its whole family (RFC 9700 §4.14.2).
	ErrRefreshReused = errors.New("identity: refresh token reused; family revoked")
	// ErrFamilyRevoked: the refresh token's family was revoked (logout,
	// reuse, admin action).
	ErrFamilyRevoked = errors.New("identity: refresh token family revoked")
	// ErrExpired: the code or refresh token has expired.
	ErrExpired = errors.New("identity: expired")
	// ErrUnavailable: the store could not be reached or is shutting down
	// (a refused or dropped connection, a timeout, a server restart); the
	// operation may succeed when retried. The auth server answers it with
	// 503 temporarily_unavailable. Engines wrap such errors with it.
	ErrUnavailable = errors.New("identity: store unavailable")
)

// User is a person who logs in.
type User struct {
	// ID is the stable subject identifier (the sub claim); random, never reused.
	ID       string
	Username string
	Email    string
	Name     string
	// PasswordHash is an argon2id hash in PHC string form (see HashPassword).
	PasswordHash string
	// Org is the ID of the user's organization (tenant), "" for none.
	Org      string
	Groups   []string
	Roles    []string
	Disabled bool
	// UpdatedAt is set by the store on every write.
	UpdatedAt time.Time
}

// Organization is a tenant: users belong to one, and services filter data
// by it.
type Organization struct {
	ID   string
	Name string
}

// Grant types of RFC 6749 and its extensions.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	GrantPassword          = "password"
	GrantTokenExchange     = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// Client is an OAuth client: a service, a browser app or a CLI.
type Client struct {
	ID string
	// SecretHash is the argon2id hash of the client secret (see
	// HashSecret); empty for public clients.
	SecretHash string
	// Public clients have no secret and must use PKCE (RFC 7636).
	Public       bool
	Name         string
	Grants       []string
	RedirectURIs []string
	// Scopes the client may request.
	Scopes []string
	// Audiences the client may request tokens for; the first is the default.
	Audiences []string
	// AccessTokenTTL and RefreshTokenTTL override the server defaults when
	// non-zero.
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// JWKS is the client's public key set (a JWKS document) for the
	// private_key_jwt client authentication of RFC 7523: the client signs
	// an assertion with its private key instead of sending a secret. Empty:
	// the client cannot authenticate that way.
	JWKS string
	// AllowedOrigins are browser origins (scheme://host[:port]) the auth
	// server answers CORS requests of this client from, beside the origins
	// of its RedirectURIs, which are always allowed.
	AllowedOrigins []string
	// PostLogoutRedirectURIs are where RP-initiated logout may send the
	// browser back to (OpenID Connect RP-Initiated Logout 1.0 §3), matched
	// exactly.
	PostLogoutRedirectURIs []string
	// Introspection lets the client introspect every token of the server
	// (RFC 7662 §4): an access token whatever its audience, and a refresh
	// token of any client. Without it, a confidential client introspects
	// its own tokens and access tokens whose aud names it; any other
	// token answers active false.
	Introspection bool

	// TLSClientAuthSANURI is the URI SAN (a SPIFFE ID for gatehouse
	// workloads) that the client's TLS certificate must carry for the
	// tls_client_auth method of RFC 8705 §2.1.2; the certificate must also
	// chain to a CA the mTLS listener trusts. Empty: not by SAN.
	TLSClientAuthSANURI string
	// TLSClientAuthSubjectDN is the subject distinguished name (RFC 4514
	// string form) of the client's TLS certificate for tls_client_auth
	// (RFC 8705 §2.1.2). Empty: not by subject.
	TLSClientAuthSubjectDN string
	// SelfSignedTLSClientAuth lets the client authenticate with a
	// self-signed TLS certificate whose public key is in JWKS (RFC 8705
	// §2.2, self_signed_tls_client_auth).
	SelfSignedTLSClientAuth bool
	// CertificateBoundTokens binds every access token of the client to the
	// TLS certificate it presented at the token endpoint (RFC 8705 §3,
	// tls_client_certificate_bound_access_tokens): the token carries
	// cnf.x5t#S256, and a request without that certificate is refused.
	CertificateBoundTokens bool
	// DPoPBoundTokens requires a DPoP proof at the token endpoint (RFC 9449
	// §5.2, dpop_bound_access_tokens): every access token of the client
	// carries cnf.jkt.
	DPoPBoundTokens bool
	// RequirePAR requires the client to push its authorization requests
	// first (RFC 9126 §6, require_pushed_authorization_requests).
	RequirePAR bool

	UpdatedAt time.Time
}

// AllowsGrant reports whether the client may use grant.
func (c *Client) AllowsGrant(grant string) bool { return contains(c.Grants, grant) }

// AuthCode is an issued authorization code (RFC 6749 §4.1.2), stored by the
// hash of its value.
type AuthCode struct {
	Hash                string
	ClientID            string
	UserID              string
	RedirectURI         string
	Scope               string
	Audience            []string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	AuthTime            time.Time
	ExpiresAt           time.Time
	// UsedAt is set when the code is redeemed.
	UsedAt time.Time
	// FamilyID is the refresh token family and IssuedJTI the access token
	// the redemption issued, so that a second redemption can revoke them.
	FamilyID  string
	IssuedJTI string
	// DPoPJKT is the dpop_jkt of the authorization request (RFC 9449 §10):
	// the thumbprint of the key whose DPoP proof must come with the
	// redemption ("" when the request named none).
	DPoPJKT string
}

// PushedRequest is an authorization request a client pushed (RFC 9126
// §2), stored by the hash of its request_uri (HashToken) until it is taken
// or expires.
type PushedRequest struct {
	Hash     string
	ClientID string
	// Params are the request's parameters, form-encoded
	// (application/x-www-form-urlencoded).
	Params    string
	ExpiresAt time.Time
}

// RefreshToken is an issued refresh token, stored by the hash of its value.
// Tokens of one login form a family: each use rotates the token, and a reuse
// of a rotated token revokes the family.
type RefreshToken struct {
	Hash     string
	FamilyID string
	ClientID string
	// Subject is the user ID.
	Subject   string
	Scope     string
	Audience  []string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is set when the token is rotated.
	UsedAt time.Time
	// Parent is the hash of the token this one replaced ("" for the first
	// of a family), and Sealed the token response that delivered this one,
	// sealed under a key derived from the parent token (which the store
	// keeps only as a hash): within the rotation grace period, a client
	// that retries with the parent gets the same pair again.
	Parent string
	Sealed []byte
	// DPoPJKT is the thumbprint of the DPoP key a public client's refresh
	// token is bound to (RFC 9449 §5): every refresh must come with a proof
	// of that key. "" for a token that is not bound.
	DPoPJKT string
}

// RevocationKind says what a revocation matches: the kinds of package
// revocation, whose deny-list entries are what the store keeps.
type RevocationKind = revocation.Kind

// Revocation kinds.
const (
	// RevokeToken matches one access token by jti.
	RevokeToken = revocation.Token
	// RevokeSubject matches every token of a subject issued before the
	// revocation (logout everywhere, disabled account).
	RevokeSubject = revocation.Subject
	// RevokeClient matches every token of a client issued before the
	// revocation (compromised client).
	RevokeClient = revocation.Client
	// RevokeSession matches every token issued in one login session (its
	// sid claim), whenever it was issued: RP-initiated logout.
	RevokeSession = revocation.Session
)

// Revocation is an entry of the deny list, as the store keeps it: one type
// with the entries that guards and gateways check (the store also records
// when it was first added, for audits).
type Revocation = revocation.Entry

// SigningKey is a stored signing key of the auth server.
type SigningKey struct {
	ID string
	// JWK is the private JWK (see keys.Key.PrivateJWK), as the store
	// returns it: a store with a key sealer (keys/keyseal) keeps it sealed
	// and opens it on reading.
	JWK       []byte
	CreatedAt time.Time
	// SignFrom is when the key starts signing; until then it is only
	// published (in the JWKS), so that every instance and verifier has it
	// before a token carries its kid. Zero: from CreatedAt.
	SignFrom time.Time
	// RetiredAt is zero for the newest key. A key superseded by a rotation
	// signs until RetiredAt (the next key's SignFrom, which may be ahead)
	// and verifies until RetiredAt + retention.
	RetiredAt time.Time
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ParseOrigin checks that s is a web origin as browsers send it in the
// Origin header (RFC 6454 §6.1): scheme http or https, a host, an optional
// port, nothing else (no path, query, fragment or user info, no "*"). It
// returns it lower-cased, without the scheme's default port.
func ParseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("origin %q: %w", s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("origin %q: the scheme must be http or https", s)
	case u.Host == "" || u.User != nil || u.Opaque != "":
		return "", fmt.Errorf("origin %q: must be scheme://host[:port]", s)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#"):
		return "", fmt.Errorf("origin %q: an origin has no path, query or fragment (not even a trailing /)", s)
	case strings.Contains(u.Host, "*"):
		return "", fmt.Errorf("origin %q: wildcards are not allowed; list each origin", s)
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return u.Scheme + "://" + host, nil
}

// CheckRedirectURI reports what is wrong with s as a redirect URI of a
// client (a code flow's redirect_uri or a post_logout_redirect_uri): it
// must be absolute, with a host and without fragment (RFC 6749 §3.1.2), and
// not of a scheme that runs or embeds content in the browser (javascript,
// data, vbscript, blob, file, about).
func CheckRedirectURI(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URI: %v", s, err)
	case u.Scheme == "" || u.Host == "":
		return fmt.Errorf("%q must be absolute, like https://app.example/callback", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("%q must have no fragment (RFC 6749 §3.1.2)", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript", "blob", "file", "about":
		return fmt.Errorf("%q: the scheme %s is not a place to send a browser back to", s, u.Scheme)
	}
	return nil
}
