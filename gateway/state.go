package gateway

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/gatehousehq/gatehouse/internal/bodyread"
	"github.com/gatehousehq/gatehouse/ratelimit"
)

// state is one configuration, built and validated, immutable once serving.
type state struct {
	cfg       *Config
	mux       *http.ServeMux
	routeOf   map[string]string // pattern → route name (matcher.routeOf)
	routes    []*route
	trusted   []netip.Prefix
	ip        *ipFilter
	global    *limitStep
	limiters  map[string]ratelimit.Limiter // by policy name, for reuse and stats
	sem       chan struct{}
	limits    Limits
	headers   []secHeader // secheaders.go
	hsts      []string    // Strict-Transport-Security (oneValue), nil: off
	accessLog bool
	cancel    context.CancelFunc // stops the health checks
	// claimHeaders are the forward_claims header names of every route and
	// the client-certificate header names, lowercased with "_" as "-": no
	// request carries them upstream in a "_" spelling, nor a claim header
	// unless the gateway set it, on any route.
	claimHeaders map[string]bool
	// dropHeaders are the canonical names of the claim headers and of the
	// always-spoofable headers: the per-request check of a header name
	// without "_", which needs no lowercasing.
	dropHeaders map[string]bool
	// inFlight counts the requests in flight per client address, when
	// limits.max_concurrent_per_client is set.
	inFlight *clientSlots
	// forwarded: the client address is read from Forwarded, not
	// X-Forwarded-For (client_ip_header).
	forwarded bool
	// issuerKeys are the remote key sources, which /readyz checks.
	issuerKeys []issuerKeys
	// methods are the methods served (allowed_methods, methodcheck.go).
	methods methodSet
	// bodyLimits bound the reading of request bodies
	// (limits.body_idle_timeout, limits.body_timeout).
	bodyLimits bodyread.Limits
	// ipv6Bits is client_ipv6_prefix: the bits of an IPv6 address that
	// are one client (clientip.go).
	ipv6Bits int
	// binding holds the guard options of bound tokens (binding.go).
	binding *binding
}

// close stops the state's health checks; requests in flight on it finish.
func (st *state) close() {
	if st == nil {
		return
	}
	st.cancel()
}
