package token

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// Lifetimes of issued tokens.
const (
	DefaultAccessTokenTTL = 15 * time.Minute
	DefaultIDTokenTTL     = 15 * time.Minute
	// MaxServiceTokenTTL caps the service tokens of [Issuer.ServiceToken].
	MaxServiceTokenTTL = 60 * time.Second
	// TypeJWT is the typ of ID tokens and generic JWTs.
	TypeJWT = "JWT"
)

// SigningKeys gives an issuer the key to sign with now. Both *keys.Key and
// *keys.Set (with rotation) implement it.
type SigningKeys interface {
	SigningKey() *keys.Key
}

// Issuer signs tokens of one issuer. It is safe for concurrent use.
type Issuer struct {
	issuer string
	keys   SigningKeys
	ttl    time.Duration
	now    func() time.Time
}

// IssuerOption configures an [Issuer].
type IssuerOption interface{ applyIssuer(*Issuer) error }

type issuerOptionFunc func(*Issuer) error

func (f issuerOptionFunc) applyIssuer(i *Issuer) error { return f(i) }

// WithAccessTokenTTL sets the default access token lifetime (default 15m).
func WithAccessTokenTTL(d time.Duration) IssuerOption {
	return issuerOptionFunc(func(i *Issuer) error {
		if d <= 0 {
			return errors.New("token: access token lifetime must be positive")
		}
		i.ttl = d
		return nil
	})
}

// NewIssuer returns an issuer that signs as issuer (the iss claim) with the
// active key of ks.
func NewIssuer(issuer string, ks SigningKeys, opts ...IssuerOption) (*Issuer, error) {
	if issuer == "" {
		return nil, errors.New("token: issuer is required")
	}
	if ks == nil || ks.SigningKey() == nil || !ks.SigningKey().CanSign() {
		return nil, errors.New("token: a signing key with its private part is required")
	}
	i := &Issuer{issuer: issuer, keys: ks, ttl: DefaultAccessTokenTTL, now: time.Now}
	for _, o := range opts {
		if err := o.applyIssuer(i); err != nil {
			return nil, err
		}
	}
	return i, nil
}

// Issuer returns the iss value.
func (i *Issuer) Issuer() string { return i.issuer }

// AccessToken signs an RFC 9068 access token (typ at+jwt). It sets iss, and
// iat, nbf, exp (iat + the default lifetime) and jti where they are zero. sub
// and aud are required.
func (i *Issuer) AccessToken(c Claims) (string, error) {
	if c.Subject == "" {
		return "", errors.New("token: an access token needs sub (the user, or the client for client credentials)")
	}
	if len(c.Audience) == 0 {
		return "", errors.New("token: an access token needs aud")
	}
	return i.Sign(TypeAccessToken, c, i.ttl)
}

// IDToken signs an OpenID Connect ID token (typ JWT). aud must be the
// client_id; nonce, auth_time and at_hash are the caller's to set.
func (i *Issuer) IDToken(c Claims) (string, error) {
	if c.Subject == "" || len(c.Audience) == 0 {
		return "", errors.New("token: an ID token needs sub and aud")
	}
	return i.Sign(TypeJWT, c, DefaultIDTokenTTL)
}

// ServiceToken signs the short-lived token one service sends another on
// behalf of a user: sub is the user, aud the downstream service, ttl at most
// 60 seconds. extra may add claims (roles, org, ...); its sub, aud and times
// are overwritten.
func (i *Issuer) ServiceToken(sub, aud string, ttl time.Duration, extra Claims) (string, error) {
	if ttl <= 0 || ttl > MaxServiceTokenTTL {
		return "", fmt.Errorf("token: service token lifetime %s is outside (0, 60s]: service tokens are short-lived", ttl)
	}
	extra.Subject, extra.Audience = sub, Audience{aud}
	extra.IssuedAt, extra.NotBefore, extra.ExpiresAt = 0, 0, 0
	if sub == "" || aud == "" {
		return "", errors.New("token: a service token needs sub and aud")
	}
	return i.Sign(TypeAccessToken, extra, ttl)
}

// Sign signs c with header typ. Zero iat, nbf and jti are set to now, now and
// a random id; a zero exp to iat + ttl. iss is always the issuer's.
func (i *Issuer) Sign(typ string, c Claims, ttl time.Duration) (string, error) {
	now := i.now()
	c.Issuer = i.issuer
	if c.IssuedAt == 0 {
		c.IssuedAt = At(now)
	}
	if c.NotBefore == 0 {
		c.NotBefore = c.IssuedAt
	}
	if c.ExpiresAt == 0 {
		c.ExpiresAt = c.IssuedAt + NumericDate(ttl/time.Second)
	}
	if c.ExpiresAt <= c.IssuedAt {
		return "", errors.New("token: exp must be after iat")
	}
	if c.ID == "" {
		c.ID = rand.Text()
	}
	return SignClaims(i.keys.SigningKey(), typ, c)
}

// SignClaims signs c as they are, with key and header typ, and returns the
// compact JWS. It sets no claim; most callers want an [Issuer].
func SignClaims(key *keys.Key, typ string, c Claims) (string, error) {
	h, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ,omitempty"`
	}{string(key.Algorithm()), key.ID(), typ})
	if err != nil {
		return "", fmt.Errorf("token: encode header: %w", err)
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("token: encode claims: %w", err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	sig, err := key.Sign(input)
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), nil
}
