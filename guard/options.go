package guard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Option configures a [Guard].
type Option interface{ apply(*Guard) error }

type optionFunc func(*Guard) error

func (f optionFunc) apply(g *Guard) error { return f(g) }

// ErrorWriter writes the answer to a refused request. The guard has already
// set WWW-Authenticate where RFC 6750 asks for it and logged the refusal;
// the writer chooses the body. status is refusal.Status().
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, refusal *Refusal)

// WithRealm sets the realm of the WWW-Authenticate challenge (default: the
// verifier's audience).
func WithRealm(realm string) Option {
	return optionFunc(func(g *Guard) error {
		if realm == "" || !quotable(realm) {
			return fmt.Errorf("guard: realm %q must be non-empty printable ASCII without quotes or backslashes", realm)
		}
		g.realm = realm
		return nil
	})
}

// WithCookie also takes the token from the cookie name, for browser
// applications. The Authorization header wins when both are sent; two
// cookies of that name are refused (400), since another site may have set
// one of them. Browsers send cookies on cross-site requests too: set the
// cookie SameSite=Strict or Lax, and protect state-changing routes against
// cross-site requests (http.CrossOriginProtection).
func WithCookie(name string) Option {
	return optionFunc(func(g *Guard) error {
		if (&http.Cookie{Name: name, Value: "x"}).Valid() != nil {
			return fmt.Errorf("guard: %q is not a valid cookie name", name)
		}
		g.cookie = name
		return nil
	})
}

// WithErrorWriter sets the writer of refusals (default: RFC 9457
// application/problem+json through internal/problem). A service whose API
// always answers its own envelope registers it here.
func WithErrorWriter(w ErrorWriter) Option {
	return optionFunc(func(g *Guard) error {
		if w == nil {
			return errors.New("guard: nil error writer")
		}
		g.writeError = w
		return nil
	})
}

// WithLogger sets the logger of the audit events, one per refusal (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(g *Guard) error {
		if l == nil {
			return errors.New("guard: nil logger")
		}
		g.log = l
		return nil
	})
}

// WithDefaultDeny refuses (403) every route of a [Mux] registered without
// a rule, every request that matches no route of a [Mux], and every gRPC
// method ([Guard.AuthorizeCall]) without a rule in [WithMethods]. Without
// it they only require a valid token. Routes that need no token must then
// say so with [Public].
func WithDefaultDeny() Option {
	return optionFunc(func(g *Guard) error { g.defaultDeny = true; return nil })
}

// WithMethods sets the rules of gRPC methods, keyed by full method name
// ("/package.Service/Method"), for [Guard.AuthorizeCall] and so for the
// gRPC interceptors of package guard/guardgrpc. It may be given more than
// once; a method named twice is an error.
func WithMethods(rules map[string]Rule) Option {
	return optionFunc(func(g *Guard) error {
		for name, rule := range rules {
			svc, method, ok := strings.Cut(strings.TrimPrefix(name, "/"), "/")
			if !strings.HasPrefix(name, "/") || !ok || svc == "" || method == "" || strings.Contains(method, "/") {
				return fmt.Errorf("guard: %q is not a full gRPC method name (/package.Service/Method)", name)
			}
			if rule == nil {
				return fmt.Errorf("guard: nil rule for %s", name)
			}
			if _, dup := g.methods[name]; dup {
				return fmt.Errorf("guard: method %s has two rules", name)
			}
			if g.methods == nil {
				g.methods = make(map[string]Rule)
			}
			g.methods[name] = rule
		}
		return nil
	})
}

// quotable reports whether s may stand in a quoted-string of a challenge
// without escaping (RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E).
func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
