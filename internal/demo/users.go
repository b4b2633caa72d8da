package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/relay"
)

// newUsers is service A of the token relay scenario (UserService). GET
// /api/users/{name} fans out to profiles in three goroutines; each call
// carries the caller's own token (relay.Relay: the token is a value of the
// request's context, so goroutines given that context have it — nothing like
// a thread-local to copy). A one-second timeout per attempt, one retry for
// these idempotent GETs and a circuit breaker per host make a dead profiles
// service a fast, clear 503, never a hang.
func newUsers(p *platform, profilesURL string) (http.Handler, error) {
	g, err := p.guardFor(apiAudience)
	if err != nil {
		return nil, err
	}
	t, err := relay.NewTransport(p.base, relay.Relay{},
		p.relayOpts(relay.WithTimeout(time.Second), relay.WithRetries(1), relay.WithBreaker(3, 10*time.Second))...)
	if err != nil {
		return nil, fmt.Errorf("demo: users: %w", err)
	}
	profiles := outbound(t)

	mux := g.Mux()
	mux.HandleFunc("GET /healthz", healthz, guard.Public)
	mux.HandleFunc("GET /api/users/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := url.PathEscape(r.PathValue("name"))
		parts := []string{"", "/preferences", "/activity"}
		results := make([]json.RawMessage, len(parts))
		eg, ctx := errgroup.WithContext(r.Context())
		for i, part := range parts {
			eg.Go(func() error {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, profilesURL+"/profiles/"+name+part, nil)
				resp, err := profiles.Do(req) // carries the caller's token
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
				if err != nil {
					return fmt.Errorf("read profile: %w", err)
				}
				if resp.StatusCode != http.StatusOK {
					return &statusError{resp.StatusCode}
				}
				results[i] = body
				return nil
			})
		}
		if err := eg.Wait(); err != nil {
			var se *statusError
			switch {
			case errors.As(err, &se) && se.status == http.StatusNotFound:
				writeProblem(w, http.StatusNotFound, "no such user")
			case errors.Is(err, relay.ErrTokenExpired), errors.As(err, &se) && se.status == http.StatusUnauthorized:
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="the token expired during the request; renew it"`)
				writeProblem(w, http.StatusUnauthorized, "the token expired during the request; renew it and retry")
			case errors.Is(err, relay.ErrCircuitOpen):
				w.Header().Set("Retry-After", "10")
				writeProblem(w, http.StatusServiceUnavailable, "profiles is unavailable (circuit breaker open); try again later")
			default:
				p.log.WarnContext(r.Context(), "profiles call failed", "error", err)
				writeProblem(w, http.StatusServiceUnavailable, "profiles is unavailable; try again later")
			}
			return
		}
		writeJSON(w, http.StatusOK, map[string]json.RawMessage{"profile": results[0], "preferences": results[1], "activity": results[2]})
	})
	return mux, nil
}

// statusError is a downstream answer that is not 200.
type statusError struct{ status int }

func (e *statusError) Error() string { return fmt.Sprintf("downstream answered HTTP %d", e.status) }
