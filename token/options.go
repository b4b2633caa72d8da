package token

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/keys"
)

// Defaults of a [Verifier].
const (
	DefaultMaxSize   = 8 << 10
	DefaultLeeway    = 30 * time.Second
	DefaultCacheSize = 10000
	// TypeAccessToken is the typ of RFC 9068 access tokens, required by default.
	TypeAccessToken = "at+jwt"
)

// Verifier checks tokens of one issuer for one audience. It is configured
// once by [NewVerifier] and safe for concurrent use; see [Verifier.Verify]
// for what it checks and in which order.
type Verifier struct {
	src      keys.Source
	issuer   string
	audience string
	algs     map[keys.Algorithm]bool
	leeway   time.Duration
	maxSize  int
	types    []string
	required []string
	revoker  Revoker
	cache    *cache
	// anyAudience is set by WithAnyAudience.
	anyAudience bool
	now         func() time.Time
}

// VerifierOption configures a [Verifier].
type VerifierOption interface{ apply(*verifierConfig) error }

type verifierConfig struct {
	Verifier
	cacheSize int
}

// WithAnyAudience skips the audience check; pass "" as the audience. It is
// for the issuer's own endpoints (introspection, token exchange, userinfo),
// which accept tokens of every audience it issues. A resource server MUST
// NOT use it: it would accept tokens meant for other services.
func WithAnyAudience() VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) error { c.anyAudience = true; return nil })
}

type verifierOptionFunc func(*verifierConfig) error

func (f verifierOptionFunc) apply(c *verifierConfig) error { return f(c) }

// WithAlgorithms sets the allowed algorithms (default: ES256, EdDSA, RS256,
// PS256). HS256 is allowed only when listed here. A token's alg must also be
// the algorithm of the key its kid selects.
func WithAlgorithms(algs ...keys.Algorithm) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) error {
		if len(algs) == 0 {
			return errors.New("token: WithAlgorithms needs at least one algorithm")
		}
		c.algs = map[keys.Algorithm]bool{}
		for _, a := range algs {
			if _, err := keys.ParseAlgorithm(string(a)); err != nil {
				return err
			}
			c.algs[a] = true
		}
		return nil
	})
}

// WithLeeway sets the clock skew tolerated on exp, nbf and iat (default 30s,
// at most 5 minutes).
func WithLeeway(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) error {
		if d < 0 || d > 5*time.Minute {
			return fmt.Errorf("token: leeway %s is outside 0..5m", d)
		}
		c.leeway = d
		return nil
	})
}

// WithMaxSize sets the largest token accepted, in bytes (default 8 KiB).
func WithMaxSize(n int) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) error {
		if n < 64 {
			return fmt.Errorf("token: max size %d is too small for any token", n)
		}
		c.maxSize = n
		return nil
	})
}

// WithTypes sets the accepted typ header values (default: at+jwt, which
// RFC 9068 §4 requires resource servers to check). Values compare
// case-insensitively, with or without "application/".
func WithTypes(types ...string) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) error {
		if len(types) == 0 {
			return errors.New("token: WithTypes needs at least one type; use WithAnyType to skip the check")
		}
		c.types = nil
		for _, t := range types {
			c.types = append(c.types, strings.TrimPrefix(strings.ToLower(t), "application/"))
		}
		return nil
	})
}

// WithAnyType turns the typ check off, for tokens of issuers that set no typ.
// It gives up the protection against an ID token being replayed as an access
// token; prefer WithTypes.
func WithAnyType() VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) error { c.types = nil; return nil })
}

// WithRequiredClaims lists claims that must be present (exp always is).
func WithRequiredClaims(names ...string) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) error {
		for _, n := range names {
			if n == "" {
				return errors.New("token: empty required claim name")
			}
		}
		c.required = slices.Clone(names)
		return nil
	})
}

// WithRevoker sets the revocation hook, asked after every other check
// passed, also for tokens answered from the cache.
func WithRevoker(r Revoker) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) error { c.revoker = r; return nil })
}

// WithCacheSize sets how many verified tokens the cache holds (default
// 10000); 0 turns the cache off.
func WithCacheSize(n int) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) error {
		if n < 0 {
			return errors.New("token: negative cache size")
		}
		c.cacheSize = n
		return nil
	})
}

// NewVerifier returns a verifier of tokens from issuer for audience, with
// keys only from src. issuer and audience are required: an empty one is an
// error, never "accept any".
func NewVerifier(src keys.Source, issuer, audience string, opts ...VerifierOption) (*Verifier, error) {
	if src == nil {
		return nil, errors.New("token: a key source is required")
	}
	if issuer == "" {
		return nil, errors.New("token: the expected issuer is required")
	}
	c := verifierConfig{
		Verifier: Verifier{
			src:      src,
			issuer:   issuer,
			audience: audience,
			algs:     map[keys.Algorithm]bool{keys.ES256: true, keys.EdDSA: true, keys.RS256: true, keys.PS256: true},
			leeway:   DefaultLeeway,
			maxSize:  DefaultMaxSize,
			types:    []string{TypeAccessToken},
			now:      time.Now,
		},
		cacheSize: DefaultCacheSize,
	}
	for _, o := range opts {
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	if audience == "" && !c.anyAudience {
		return nil, errors.New("token: the expected audience is required")
	}
	if audience != "" && c.anyAudience {
		return nil, errors.New("token: WithAnyAudience needs an empty audience argument")
	}
	v := c.Verifier
	if c.cacheSize > 0 {
		cache, err := newCache(c.cacheSize, v.now, v.leeway)
		if err != nil {
			return nil, err
		}
		v.cache = cache
	}
	return &v, nil
}

// Issuer returns the expected issuer.
func (v *Verifier) Issuer() string { return v.issuer }

// Audience returns the expected audience.
func (v *Verifier) Audience() string { return v.audience }

// Forget drops a token from the verified-token cache, so that its next use
// is verified in full.
func (v *Verifier) Forget(raw string) {
	if v.cache != nil {
		v.cache.drop(v.cache.key(raw))
	}
}

// ForgetID drops every cached token with the given jti, as revocation by
// token id does.
func (v *Verifier) ForgetID(jti string) {
	if v.cache != nil {
		v.cache.dropID(jti)
	}
}

// ForgetSubject drops every cached token of the given subject.
func (v *Verifier) ForgetSubject(sub string) {
	if v.cache != nil {
		v.cache.dropWhere(func(c *Claims) bool { return c.Subject == sub })
	}
}
