package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"hash/maphash"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/token"
)

// The refusal cache: a token that the token check refused for a reason
// that cannot change is refused again for refusalTTL with the answer the
// guard gave it, without parsing it or checking its signature again. A
// client retrying with its expired token, or a sender repeating a forged
// one, then costs a hash and a map lookup instead of a signature check
// (tens of microseconds each), and one audit line per token and TTL
// instead of one per request; the access log and
// gatehouse_gateway_refused_total still count every request.
//
// Only refusals that no later state of the gateway could turn into a
// pass are kept: a malformed or oversized token, a header the verifier
// does not take, an algorithm or typ not allowed, a signature that does
// not verify, the wrong iss or aud, a missing required claim, an expired
// or revoked token. Never an unknown kid (its key may arrive with the next
// JWKS fetch), a token not valid yet, or a check that could not be made
// (503). The one refusal that could become a pass is a signature checked
// against a key that the issuer later replaces under the same kid, which
// RFC 7517 §4.5 rules out; the TTL bounds that case. The cache belongs to
// one configuration: a reload starts empty. It can only refuse: a token it
// does not hold goes to the token check.

// refusalTTL is how long a refusal is kept; maxRefusals bounds the tokens
// kept per (issuer, audience) of a route.
const (
	refusalTTL  = 30 * time.Second
	maxRefusals = 1024
)

// permanentRefusals are the verification errors that a token keeps.
var permanentRefusals = []error{
	token.ErrTooLarge, token.ErrMalformed, token.ErrUnsupported, token.ErrAlgorithm,
	token.ErrSignature, token.ErrType, token.ErrIssuer, token.ErrAudience,
	token.ErrMissingClaim, token.ErrExpired, token.ErrRevoked,
}

// refusalCache holds the answers to refused tokens, keyed by a hash of the
// token with a per-cache random seed, confirmed by the token's SHA-256.
type refusalCache struct {
	seed  maphash.Seed
	twin  *guard.Guard // answers as the guard does, without the audit line
	mu    sync.Mutex
	byKey map[uint64]*cachedRefusal
}

// cachedRefusal is the answer to one refused token.
type cachedRefusal struct {
	sum    [sha256.Size]byte
	until  time.Time
	status int
	header [][]string // name, value...: the fields the guard set
	body   []byte
}

// newRefusalCache makes the cache of the tokens refused by v's guard,
// whose options of bound tokens are opts (the same challenges).
func newRefusalCache(v *token.Verifier, opts ...guard.Option) (*refusalCache, error) {
	twin, err := guard.New(v, append([]guard.Option{guard.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		return nil, err
	}
	return &refusalCache{seed: maphash.MakeSeed(), twin: twin, byKey: map[uint64]*cachedRefusal{}}, nil
}

// bearerToken is the token of r as the guard reads it: the one
// Authorization field, scheme Bearer in any case. ok is false otherwise.
func bearerToken(r *http.Request) (raw string, ok bool) {
	vals := r.Header["Authorization"]
	if len(vals) != 1 {
		return "", false
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	raw = strings.TrimLeft(rest, " ")
	return raw, raw != ""
}

// wrap answers the tokens the cache holds and passes the others to next.
func (c *refusalCache) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if raw, ok := bearerToken(r); ok {
			if e := c.get(raw, time.Now()); e != nil {
				e.write(w)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (c *refusalCache) get(raw string, now time.Time) *cachedRefusal {
	k := maphash.String(c.seed, raw)
	c.mu.Lock()
	e := c.byKey[k]
	c.mu.Unlock()
	if e == nil || now.After(e.until) {
		return nil
	}
	sum := sha256.Sum256([]byte(raw))
	if subtle.ConstantTimeCompare(sum[:], e.sum[:]) != 1 {
		return nil
	}
	return e
}

func (c *refusalCache) put(raw string, e *cachedRefusal, now time.Time) {
	e.sum = sha256.Sum256([]byte(raw))
	e.until = now.Add(refusalTTL)
	k := maphash.String(c.seed, raw)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byKey) >= maxRefusals {
		for key, old := range c.byKey {
			if now.After(old.until) {
				delete(c.byKey, key)
			}
		}
		for key := range c.byKey { // none expired: map order picks one
			if len(c.byKey) < maxRefusals {
				break
			}
			delete(c.byKey, key)
		}
	}
	c.byKey[k] = e
}

// errorWriter is the guard's guard.ErrorWriter: it writes the guard's own
// answer (through the twin, which logs nothing: the guard has logged the
// refusal) and keeps it when the token keeps its refusal.
func (c *refusalCache) errorWriter(w http.ResponseWriter, r *http.Request, _ int, ref *guard.Refusal) {
	raw, ok := bearerToken(r)
	if !ok || !permanent(ref) {
		c.twin.Refuse(w, r, ref)
		return
	}
	capture := &capturedAnswer{header: http.Header{}}
	c.twin.Refuse(capture, r, ref)
	e := capture.refusal()
	c.put(raw, e, time.Now())
	e.write(w)
}

// permanent reports whether the token of ref keeps its refusal.
func permanent(ref *guard.Refusal) bool {
	if ref.Reason != guard.ReasonInvalidToken {
		return false
	}
	for _, kind := range permanentRefusals {
		if errors.Is(ref.Err, kind) {
			return true
		}
	}
	return false
}

// write answers with the refusal. The value slices are shared between
// answers and never written to: each is as long as its capacity, so a
// field added to later goes to a new array.
func (e *cachedRefusal) write(w http.ResponseWriter) {
	h := w.Header()
	for _, kv := range e.header {
		h[kv[0]] = kv[1:len(kv):len(kv)]
	}
	w.WriteHeader(e.status)
	w.Write(e.body)
}

// capturedAnswer is a ResponseWriter that keeps what is written to it.
type capturedAnswer struct {
	header http.Header
	status int
	body   []byte
}

func (a *capturedAnswer) Header() http.Header { return a.header }

func (a *capturedAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *capturedAnswer) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	a.body = append(a.body, b...)
	return len(b), nil
}

func (a *capturedAnswer) refusal() *cachedRefusal {
	e := &cachedRefusal{status: a.status, body: a.body}
	for name, vals := range a.header {
		e.header = append(e.header, append([]string{name}, vals...))
	}
	return e
}
