package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/relay"
)

// AccountsResponse is the one body shape of the accounts and admin services
// (accounts → admin), for answers and refusals alike:
// {"status":"OK","emails":[...]} or {"status":"ERROR","error":"..."}.
type AccountsResponse struct {
	Status string   `json:"status"`
	Emails []string `json:"emails,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// writeAccountsError is the guard's error writer of accounts and admin: a
// refusal keeps its status (and the WWW-Authenticate the guard set) but
// answers the service's own envelope.
func writeAccountsError(w http.ResponseWriter, _ *http.Request, status int, ref *guard.Refusal) {
	msg := ref.Detail
	if msg == "" {
		msg = string(ref.Reason)
	}
	writeJSON(w, status, AccountsResponse{Status: "ERROR", Error: msg})
}

// newAccounts is service A of accounts → admin. It takes the user's access
// token (audience api), checks that the account exists and is enabled
// (through the cached directory), and asks admin for the e-mails with a
// service token of its own: HS256 with the secret it shares with admin, sub =
// the account, aud = admin, 30 seconds (relay.Mint). The user's token never
// travels further.
func newAccounts(p *platform, adminURL string, secret []byte, dir *directory) (http.Handler, error) {
	g, err := p.guardFor(apiAudience, guard.WithErrorWriter(writeAccountsError))
	if err != nil {
		return nil, err
	}
	key, err := keys.New(keys.HS256, secret, keys.WithID("accounts-admin"))
	if err != nil {
		return nil, fmt.Errorf("demo: accounts: %w", err)
	}
	mint, err := relay.NewMint(relay.MintConfig{Service: "accounts", Key: key, Audience: "admin"})
	if err != nil {
		return nil, fmt.Errorf("demo: accounts: %w", err)
	}
	t, err := relay.NewTransport(p.base, mint, p.relayOpts(relay.WithTimeout(2*time.Second), relay.WithRetries(1))...)
	if err != nil {
		return nil, fmt.Errorf("demo: accounts: %w", err)
	}
	admin := outbound(t)

	mux := g.Mux()
	mux.HandleFunc("GET /healthz", healthz, guard.Public)
	mux.HandleFunc("GET /api/accounts", func(w http.ResponseWriter, r *http.Request) {
		caller, _ := guard.PrincipalFrom(r.Context())
		acct, err := dir.account(r.Context(), caller.Subject)
		if err != nil || acct.Disabled {
			writeJSON(w, http.StatusForbidden, AccountsResponse{Status: "ERROR", Error: "unknown or disabled account"})
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, adminURL+"/accounts", nil)
		resp, err := admin.Do(req) // carries the minted HS256 token, not the user's
		if err != nil {
			status := http.StatusBadGateway
			if errors.Is(err, relay.ErrCircuitOpen) || errors.Is(err, relay.ErrTimeout) {
				status = http.StatusServiceUnavailable
			}
			p.log.WarnContext(r.Context(), "admin call failed", "error", err)
			writeJSON(w, status, AccountsResponse{Status: "ERROR", Error: "the admin service is unavailable"})
			return
		}
		defer resp.Body.Close()
		var out AccountsResponse
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.Status == "" {
			writeJSON(w, http.StatusBadGateway, AccountsResponse{Status: "ERROR", Error: "the admin service answered garbage"})
			return
		}
		writeJSON(w, resp.StatusCode, out) // admin's verdict, in the same envelope
	})
	return mux, nil
}
