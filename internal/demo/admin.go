package demo

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
)

// newAdmin is service B of accounts → admin. It accepts only the HS256 tokens
// that accounts mints (iss accounts, aud admin, HS256 and nothing else), and
// decides from the identity store — through the shared cache, so that what
// accounts already fetched costs no store read — whether the account is in
// group admin. The answer lists the e-mails of the account's organization.
func newAdmin(p *platform, secret []byte, dir *directory) (http.Handler, error) {
	key, err := keys.New(keys.HS256, secret, keys.WithID("accounts-admin"))
	if err != nil {
		return nil, fmt.Errorf("demo: admin: %w", err)
	}
	src, err := keys.NewStatic(key)
	if err != nil {
		return nil, fmt.Errorf("demo: admin: %w", err)
	}
	v, err := token.NewVerifier(src, "accounts", "admin", token.WithAlgorithms(keys.HS256), token.WithRevoker(p.revoker))
	if err != nil {
		return nil, fmt.Errorf("demo: admin: %w", err)
	}
	g, err := guard.New(v, p.guardOpts(guard.WithErrorWriter(writeAccountsError), guard.WithDefaultDeny())...)
	if err != nil {
		return nil, fmt.Errorf("demo: admin: %w", err)
	}
	// inGroupAdmin asks the store (via the cache), not the token's claims:
	// group membership is the store's to say.
	inGroupAdmin := func(r *http.Request, caller *guard.Principal) error {
		acct, err := dir.account(r.Context(), caller.Subject)
		switch {
		case errors.Is(err, identity.ErrNotFound):
			return guard.Forbidden("unknown account")
		case err != nil:
			return err // 500, cause logged only
		case acct.Disabled || !slices.Contains(acct.Groups, "admin"):
			return guard.Forbidden("the account is not in group admin")
		}
		return nil
	}

	mux := g.Mux()
	mux.HandleFunc("GET /healthz", healthz, guard.Public)
	mux.HandleFunc("GET /accounts", func(w http.ResponseWriter, r *http.Request) {
		caller, _ := guard.PrincipalFrom(r.Context())
		acct, err := dir.account(r.Context(), caller.Subject)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, AccountsResponse{Status: "ERROR", Error: "account lookup failed"})
			return
		}
		emails, err := dir.orgEmails(r.Context(), acct.Org)
		if err != nil {
			p.log.ErrorContext(r.Context(), "e-mail lookup failed", "error", err)
			writeJSON(w, http.StatusInternalServerError, AccountsResponse{Status: "ERROR", Error: "account lookup failed"})
			return
		}
		writeJSON(w, http.StatusOK, AccountsResponse{Status: "OK", Emails: emails})
	}, inGroupAdmin)
	return mux, nil
}
