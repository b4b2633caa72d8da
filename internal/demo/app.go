package demo

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// appFiles are the browser app's files: plain HTML, CSS and JavaScript,
// and the vendored oidc-client-ts build with its licences (app/vendor,
// refreshed by app/vendor/refresh.sh).
//
//go:embed app/index.html app/app.js app/app.css app/icon.svg
//go:embed app/vendor/oidc-client-ts.min.js app/vendor/oidc-client-ts.LICENSE app/vendor/jwt-decode.LICENSE app/vendor/VERSION
var appFiles embed.FS

// appScopes are the scopes the browser app asks for: identity, its own
// orders (read, create, delete, pay) and a refresh token.
const appScopes = "openid profile email orders:read orders:write offline_access"

// appConfig is what the app reads from config.json: where the auth server
// is and how the spa client is registered there.
type appConfig struct {
	Issuer                string   `json:"issuer"`
	ClientID              string   `json:"client_id"`
	RedirectURI           string   `json:"redirect_uri"`
	PostLogoutRedirectURI string   `json:"post_logout_redirect_uri"`
	Scope                 string   `json:"scope"`
	Resource              []string `json:"resource"`
}

// newApp is the file server of the browser app (scenarios 002 and 003),
// which the gateway serves at /app/ without a token check. appURL is the
// app's URL at the gateway; the code flow's redirect URI is appURL +
// "callback", which answers the same page. Every answer carries a strict
// Content-Security-Policy: scripts and styles from the app's own origin
// only (no inline code), fetches to that origin (the gateway's /api/) and
// the auth server, no forms, no frames.
func newApp(issuer, appURL string) (http.Handler, error) {
	iss, err := url.Parse(issuer)
	if err != nil || iss.Scheme == "" || iss.Host == "" {
		return nil, fmt.Errorf("demo: app: issuer %q is not an absolute URL", issuer)
	}
	u, err := url.Parse(appURL)
	if err != nil || !strings.HasSuffix(u.Path, "/") {
		return nil, fmt.Errorf("demo: app: %q is not a URL of a folder", appURL)
	}
	files, err := fs.Sub(appFiles, "app")
	if err != nil {
		return nil, fmt.Errorf("demo: app: %w", err)
	}
	redirect, postLogout := spaURIs(appURL)
	cfg, err := json.Marshal(appConfig{Issuer: issuer, ClientID: "spa", RedirectURI: redirect[0],
		PostLogoutRedirectURI: postLogout[0], Scope: appScopes, Resource: []string{apiAudience, "orders"}})
	if err != nil {
		return nil, fmt.Errorf("demo: app: %w", err)
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, fmt.Errorf("demo: app: %w", err)
	}
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self' " + iss.Scheme + "://" + iss.Host + "; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; " +
		"require-trusted-types-for 'script'; trusted-types 'none'"
	prefix := u.Path

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET "+prefix+"{file...}", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-cache")
		name := r.PathValue("file")
		switch name {
		case "", "callback": // the page, also where the auth server sends the code
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.Write(index)
			return
		case "config.json":
			h.Set("Content-Type", "application/json")
			w.Write(cfg)
			return
		}
		b, err := fs.ReadFile(files, name)
		if name == "index.html" || err != nil {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", contentType(name))
		w.Write(b)
	})
	return mux, nil
}

// contentType is the media type of an app file by its extension.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	default: // the licences and VERSION
		return "text/plain; charset=utf-8"
	}
}
