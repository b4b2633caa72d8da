package demo

import (
	"net/http"

	"github.com/gatehousehq/gatehouse/guard"
)

// profile is what profiles knows about a user.
type profile struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Org         string `json:"org"`
	Theme       string `json:"theme"`
	LastLogin   string `json:"last_login"`
}

var demoProfiles = map[string]profile{
	"alice": {"alice", "Alice Admin", "acme", "dark", "2025-01-06T09:00:00Z"},
	"bob":   {"bob", "Bob Builder", "acme", "light", "2025-01-05T17:30:00Z"},
	"carol": {"carol", "Carol Customer", "globex", "light", "2025-01-04T08:15:00Z"},
}

// newProfiles is service B of the token relay scenario (ProfileService). It
// checks the token users relayed — the caller's own — and shows profiles of
// the caller's organization only; another organization's user is "not found".
func newProfiles(p *platform) (http.Handler, error) {
	g, err := p.guardFor(apiAudience)
	if err != nil {
		return nil, err
	}
	lookup := func(r *http.Request) (profile, bool) {
		pr, ok := demoProfiles[r.PathValue("name")]
		return pr, ok && pr.Org == guard.Org(r.Context())
	}
	mux := g.Mux()
	mux.HandleFunc("GET /healthz", healthz, guard.Public)
	mux.HandleFunc("GET /profiles/{name}", func(w http.ResponseWriter, r *http.Request) {
		if pr, ok := lookup(r); ok {
			writeJSON(w, http.StatusOK, map[string]string{"username": pr.Username, "display_name": pr.DisplayName, "org": pr.Org})
			return
		}
		g.Refuse(w, r, guard.ErrNotFound)
	})
	mux.HandleFunc("GET /profiles/{name}/preferences", func(w http.ResponseWriter, r *http.Request) {
		if pr, ok := lookup(r); ok {
			writeJSON(w, http.StatusOK, map[string]string{"theme": pr.Theme})
			return
		}
		g.Refuse(w, r, guard.ErrNotFound)
	})
	mux.HandleFunc("GET /profiles/{name}/activity", func(w http.ResponseWriter, r *http.Request) {
		if pr, ok := lookup(r); ok {
			writeJSON(w, http.StatusOK, map[string]string{"last_login": pr.LastLogin})
			return
		}
		g.Refuse(w, r, guard.ErrNotFound)
	})
	return mux, nil
}
