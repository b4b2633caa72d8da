package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/relay"
)

// order is one order; Org is the tenant that owns it, Owner the user ID.
type order struct {
	ID    string `json:"id"`
	Org   string `json:"org"`
	Owner string `json:"owner"`
	Item  string `json:"item"`
}

// orderBook is the orders service's data, in memory.
type orderBook struct {
	mu     sync.Mutex
	orders []order
	next   int
}

// visible returns the order id if it belongs to org: another
// organization's order is not found, exactly like a missing one.
func (b *orderBook) visible(id, org string) (order, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range b.orders {
		if o.ID == id && org != "" && o.Org == org {
			return o, nil
		}
	}
	return order{}, guard.ErrNotFound
}

// newOrders is the orders service: organization-scoped data (002), rules
// and payments (003).
//
//   - GET /api/orders lists the caller's organization's orders (scope
//     orders:read); GET /api/orders/{id} answers 404 for another
//     organization's order.
//   - POST /api/orders creates one (scope orders:write).
//   - DELETE /api/orders/{id}: role admin or the order's owner, in the
//     caller's organization.
//   - POST /api/orders/{id}/pay calls payments on behalf of the user: the
//     caller's token is exchanged (RFC 8693) for one with aud payments and
//     act orders.
//   - GET /api/orders/settlement calls payments as orders itself, with the
//     client credentials grant (no user).
//
// orders reaches payments over mutual TLS (mtls.go): each side proves
// which service it is with its SPIFFE certificate, and the token says for
// whom. orders has no client secret: it authenticates at the auth server's
// mutual-TLS listener with its certificate (tls_client_auth), and every
// token it gets for payments is bound to that certificate (cnf.x5t#S256,
// RFC 8705), good only over orders' own connections to payments.
//
// Its guard also takes DPoP-bound tokens (the browser app's, RFC 9449):
// the gateway passes the token and the proof on as sent, so the proof
// names the gateway's URL.
func newOrders(p *platform, env *Env, m *mesh, owners map[string]string) (http.Handler, error) {
	paymentsURL := env.Services["payments"]
	proofs, err := dpop.NewVerifier()
	if err != nil {
		return nil, fmt.Errorf("demo: orders: %w", err)
	}
	g, err := p.guardFor(apiAudience, guard.WithDPoP(proofs, guard.ExternalURL(env.GatewayURL)))
	if err != nil {
		return nil, err
	}
	toPayments, err := relay.NewCertTransport(*m.ordersMTLS(paymentsID))
	if err != nil {
		return nil, fmt.Errorf("demo: orders: %w", err)
	}
	tokenURL := env.MTLSURL + "/oauth2/token" // the mtls_endpoint_aliases token endpoint
	tokenClient := &http.Client{Timeout: 10 * time.Second}
	exchange, err := relay.NewExchange(relay.ExchangeConfig{TokenURL: tokenURL, ClientID: "orders", MTLS: m.ordersMTLS(authServerID),
		Audience: "payments", HTTPClient: tokenClient, TracerProvider: p.tp})
	if err != nil {
		return nil, fmt.Errorf("demo: orders: %w", err)
	}
	own, err := relay.NewClientCredentials(relay.ClientCredentialsConfig{
		OAuth2:         clientcredentials.Config{ClientID: "orders", TokenURL: tokenURL, Scopes: []string{"payments:read"}},
		Audience:       "payments",
		HTTPClient:     tokenClient,
		TracerProvider: p.tp,
		MTLS:           m.ordersMTLS(authServerID),
	})
	if err != nil {
		return nil, fmt.Errorf("demo: orders: %w", err)
	}
	onBehalf, err := relay.NewTransport(toPayments, exchange, p.relayOpts(relay.WithTimeout(5*time.Second))...)
	if err != nil {
		return nil, fmt.Errorf("demo: orders: %w", err)
	}
	asItself, err := relay.NewTransport(toPayments, own, p.relayOpts(relay.WithTimeout(5*time.Second), relay.WithRetries(1))...)
	if err != nil {
		return nil, fmt.Errorf("demo: orders: %w", err)
	}
	payOnBehalf, payAsItself := outbound(onBehalf), outbound(asItself)

	book := &orderBook{next: 3000, orders: []order{
		{"A-1001", "acme", owners["alice"], "anvil"},
		{"A-1002", "acme", owners["bob"], "rocket skates"},
		{"G-2001", "globex", owners["carol"], "doomsday device"},
	}}
	// inCallerOrg makes another organization's order a 404 before any other
	// rule can tell it exists.
	inCallerOrg := func(r *http.Request, caller *guard.Principal) error {
		_, err := book.visible(r.PathValue("id"), caller.Org)
		return err
	}
	ownerOf := func(r *http.Request) (string, error) {
		o, err := book.visible(r.PathValue("id"), guard.Org(r.Context()))
		return o.Owner, err
	}

	mux := g.Mux()
	mux.HandleFunc("GET /healthz", healthz, guard.Public)
	mux.HandleFunc("GET /api/orders", func(w http.ResponseWriter, r *http.Request) {
		org := guard.Org(r.Context())
		book.mu.Lock()
		out := []order{}
		for _, o := range book.orders {
			if org != "" && o.Org == org { // the filter lives in the data owner's query
				out = append(out, o)
			}
		}
		book.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"org": org, "orders": out})
	}, guard.Scope("orders:read"))
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		o, err := book.visible(r.PathValue("id"), guard.Org(r.Context()))
		if err != nil {
			g.Refuse(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, o)
	}, guard.Scope("orders:read"))
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		caller, _ := guard.PrincipalFrom(r.Context())
		var in struct {
			Item string `json:"item"`
		}
		if err := readJSON(w, r, &in); err != nil || strings.TrimSpace(in.Item) == "" || len(in.Item) > 200 {
			writeProblem(w, http.StatusBadRequest, `the body must be {"item": "..."} with an item of 1 to 200 bytes`)
			return
		}
		book.mu.Lock()
		book.next++
		o := order{ID: fmt.Sprintf("N-%d", book.next), Org: caller.Org, Owner: caller.Subject, Item: in.Item}
		book.orders = append(book.orders, o)
		book.mu.Unlock()
		writeJSON(w, http.StatusCreated, o)
	}, guard.Scope("orders:write"))
	mux.HandleFunc("DELETE /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		book.mu.Lock()
		book.orders = slices.DeleteFunc(book.orders, func(o order) bool { return o.ID == id })
		book.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}, guard.All(inCallerOrg, guard.Any(guard.AnyRole("admin"), guard.Owner(ownerOf))))
	mux.HandleFunc("POST /api/orders/{id}/pay", func(w http.ResponseWriter, r *http.Request) {
		o, err := book.visible(r.PathValue("id"), guard.Org(r.Context()))
		if err != nil {
			g.Refuse(w, r, err)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, paymentsURL+"/payments/"+o.ID, nil)
		proxyJSON(w, p, payOnBehalf, req) // exchanged token: sub = the user, act = orders
	}, guard.Scope("orders:write"))
	mux.HandleFunc("GET /api/orders/settlement", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, paymentsURL+"/payments/settlement", nil)
		proxyJSON(w, p, payAsItself, req) // orders' own token: sub = orders, no user
	}, guard.Scope("orders:read"))
	return mux, nil
}

// proxyJSON makes req with c and answers the downstream JSON as it is, or a
// problem that says what failed.
func proxyJSON(w http.ResponseWriter, p *platform, c *http.Client, req *http.Request) {
	resp, err := c.Do(req)
	if err != nil {
		var te *relay.TokenError
		switch {
		case errors.As(err, &te):
			writeProblem(w, http.StatusForbidden, "the auth server refused a token for payments: "+te.Code+": "+te.Description)
		case errors.Is(err, relay.ErrTokenExpired):
			writeProblem(w, http.StatusUnauthorized, "the token expired during the request; renew it and retry")
		default:
			p.log.WarnContext(req.Context(), "payments call failed", "error", err)
			writeProblem(w, http.StatusServiceUnavailable, "payments is unavailable; try again later")
		}
		return
	}
	defer resp.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		writeProblem(w, http.StatusBadGateway, "payments answered garbage")
		return
	}
	writeJSON(w, resp.StatusCode, body)
}
