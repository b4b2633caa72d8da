package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/ratelimit"
)

// The rate limits: a step per limit (gateway.rate_limit, a route's
// rate_limit) with Spring Cloud Gateway's semantics, keyed by the client
// address, a header or, after the token check, a claim of the verified
// token; 429 past the limit, 503 when a fail-closed backend cannot decide.

// limitStep is one rate limit: its limiter and how it finds the key.
type limitStep struct {
	lim       ratelimit.Limiter
	kind      string // ip, client_id, sub, claim, header
	name      string // the claim or header name
	principal bool   // the key comes from the verified token
}

// limitStep builds the limit of scope ("global" or a route name),
// reusing old's limiter when its policy and backend are unchanged.
func (g *Gateway) limitStep(st, old *state, scope string, rl *RateLimit) (*limitStep, error) {
	name := "global"
	if scope != "global" {
		name = policyName(scope)
	}
	p := ratelimit.Policy{Name: name, ReplenishRate: rl.ReplenishRate, BurstCapacity: rl.BurstCapacity, RequestedTokens: rl.RequestedTokens}
	backend := st.cfg.RateLimit
	var lim ratelimit.Limiter
	if old != nil && old.cfg.RateLimit == backend {
		if prev, ok := old.limiters[name]; ok && policyOf(prev) == p {
			lim = prev
		}
	}
	if lim == nil {
		var err error
		if backend.Backend == "redis" {
			opts := []ratelimit.RedisOption{ratelimit.WithLogger(g.log)}
			if backend.OnRedisError == "closed" {
				opts = append(opts, ratelimit.WithFailureMode(ratelimit.FailClosed))
			}
			if pre := backend.Prefix; pre != "" {
				if !strings.HasSuffix(pre, ":") {
					pre += ":"
				}
				opts = append(opts, ratelimit.WithPrefix(pre))
			}
			if backend.Timeout > 0 {
				opts = append(opts, ratelimit.WithTimeout(backend.Timeout))
			}
			if backend.LocalShares != nil {
				opts = append(opts, ratelimit.WithLocalShares(*backend.LocalShares))
			}
			lim, err = ratelimit.NewRedis(g.redis, p, opts...)
		} else {
			lim, err = ratelimit.NewMemory(p)
		}
		if err != nil {
			return nil, st.cfg.errAt(0, scope+".rate_limit", "%v", err)
		}
	}
	st.limiters[name] = lim
	s := &limitStep{lim: lim, kind: rl.Key, principal: needsPrincipal(rl.Key)}
	if k, n, ok := strings.Cut(rl.Key, ":"); ok {
		s.kind, s.name = k, n
		if k == "header" {
			s.name = http.CanonicalHeaderKey(n)
		}
	}
	return s, nil
}

func policyOf(l ratelimit.Limiter) ratelimit.Policy {
	switch l := l.(type) {
	case *ratelimit.Memory:
		return l.Policy()
	case *ratelimit.Redis:
		return l.Policy()
	}
	return ratelimit.Policy{}
}

// key returns the limiter key of the request. A value the request does not
// have (no such header, claim or token) falls back to the client address.
func (s *limitStep) key(r *http.Request, info *reqInfo, p *guard.Principal) string {
	var v string
	switch s.kind {
	case "client_id":
		if p != nil {
			v = p.ClientID
		}
	case "sub":
		if p != nil {
			v = p.Subject
		}
	case "claim":
		if p != nil {
			v = claimString(p, s.name)
		}
	case "header":
		v = r.Header.Get(s.name)
		if v != "" {
			return ratelimit.Key("header:"+s.name, v)
		}
	}
	if v == "" {
		return ratelimit.Key("ip", info.key.String())
	}
	if s.kind == "claim" {
		return ratelimit.Key("claim:"+s.name, v)
	}
	return ratelimit.Key(s.kind, v)
}

// check asks the limiter and writes the headers; on refusal it answers
// 429 (503 when a fail-closed backend is down) and reports false.
func (s *limitStep) check(w http.ResponseWriter, r *http.Request, info *reqInfo, p *guard.Principal) bool {
	d, err := s.allow(r.Context(), s.key(r, info, p)) // tracing.go
	if err != nil {
		// The client has gone; nothing was counted.
		refuse(w, http.StatusServiceUnavailable, TypeOverloaded, reasonRateLimitErr, "the rate limit could not be checked")
		return false
	}
	ratelimit.WriteHeaders(w.Header(), d)
	if d.Allowed {
		return true
	}
	if d.Degraded {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
		refuse(w, http.StatusServiceUnavailable, TypeOverloaded, reasonRateLimitErr, "the rate limit could not be checked; retry shortly")
		return false
	}
	refuse(w, http.StatusTooManyRequests, TypeRateLimited, reasonRateLimited, "too many requests; see Retry-After")
	return false
}

// policyName is the ratelimit policy name of a limit.
func policyName(route string) string {
	if route == "" {
		return "global"
	}
	return fmt.Sprintf("route.%s", route)
}
