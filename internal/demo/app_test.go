package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The app's files through the gateway: no token needed, the app's own CSP
// kept, the gateway's security headers added.
func TestAppThroughGateway(t *testing.T) {
	t.Parallel()
	env := startDemo(t, Config{})
	hc := newTestClient()
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := hc.Get(env.GatewayURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, body := get("/app/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<script src="app.js"`) {
		t.Fatalf("GET /app/: %d %.200s", resp.StatusCode, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'",
		"connect-src 'self' " + env.Issuer, "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows something unsafe", csp)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options %q, want the gateway's DENY", got)
	}
	resp, _ = get("/app/callback?code=x&state=y")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET /app/callback: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body = get("/app/config.json")
	var cfg appConfig
	if err := json.Unmarshal(body, &cfg); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /app/config.json: %d %v", resp.StatusCode, err)
	}
	if cfg.Issuer != env.Issuer || cfg.RedirectURI != env.AppURL+"callback" || cfg.PostLogoutRedirectURI != env.AppURL || cfg.ClientID != "spa" {
		t.Errorf("config.json %+v does not match the demo (issuer %s, app %s)", cfg, env.Issuer, env.AppURL)
	}
	spa, err := env.store.ClientByID(t.Context(), "spa")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range strings.Fields(cfg.Scope) {
		if !strings.Contains(" "+strings.Join(spa.Scopes, " ")+" ", " "+sc+" ") {
			t.Errorf("the app asks for scope %s, which the spa client may not request", sc)
		}
	}
	if spa.AccessTokenTTL != spaAccessTTL || len(spa.PostLogoutRedirectURIs) != 1 || spa.PostLogoutRedirectURIs[0] != env.AppURL {
		t.Errorf("spa client: access token TTL %s, post-logout redirect URIs %v", spa.AccessTokenTTL, spa.PostLogoutRedirectURIs)
	}
}

func TestAppFiles(t *testing.T) {
	t.Parallel()
	h, err := newApp("http://127.0.0.1:9000", "http://127.0.0.1:8080/app/")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
		contentType  string
	}{
		{"GET", "/app/", 200, "text/html; charset=utf-8"},
		{"HEAD", "/app/", 200, "text/html; charset=utf-8"},
		{"GET", "/app/callback", 200, "text/html; charset=utf-8"},
		{"GET", "/app/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/app/app.css", 200, "text/css; charset=utf-8"},
		{"GET", "/app/icon.svg", 200, "image/svg+xml"},
		{"GET", "/app/vendor/oidc-client-ts.min.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/app/vendor/oidc-client-ts.LICENSE", 200, "text/plain; charset=utf-8"},
		{"GET", "/app/vendor/jwt-decode.LICENSE", 200, "text/plain; charset=utf-8"},
		{"GET", "/app/config.json", 200, "application/json"},
		{"GET", "/app/index.html", 404, ""},
		{"GET", "/app/vendor/refresh.sh", 404, ""},
		{"GET", "/app/missing.js", 404, ""},
		{"GET", "/healthz", 200, ""},
		{"POST", "/app/", 405, ""},
		{"DELETE", "/app/app.js", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.contentType != "" && rec.Header().Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tt.contentType)
			}
			if tt.status == 200 && tt.path != "/healthz" && rec.Header().Get("Content-Security-Policy") == "" {
				t.Error("no Content-Security-Policy")
			}
		})
	}
	if _, err := newApp("not a url", "http://127.0.0.1:8080/app/"); err == nil {
		t.Error("newApp accepted an issuer that is not an absolute URL")
	}
	if _, err := newApp("http://127.0.0.1:9000", "http://127.0.0.1:8080/app"); err == nil {
		t.Error("newApp accepted an app URL that is not a folder")
	}
}

// The page keeps to its CSP by construction: no inline script, style or
// event handler.
func TestAppHasNoInlineCode(t *testing.T) {
	t.Parallel()
	page, err := appFiles.ReadFile("app/index.html")
	if err != nil {
		t.Fatal(err)
	}
	scripts := regexp.MustCompile(`<script([^>]*)>([^<]*)</script>`).FindAllSubmatch(page, -1)
	if len(scripts) != strings.Count(string(page), "<script") {
		t.Error("index.html has a script element that is not <script ...></script>")
	}
	for _, m := range scripts {
		if !strings.Contains(string(m[1]), " src=") || strings.TrimSpace(string(m[2])) != "" {
			t.Errorf("index.html has an inline script: %q", m[0])
		}
	}
	for name, re := range map[string]*regexp.Regexp{
		"style element":  regexp.MustCompile(`<style`),
		"style=":         regexp.MustCompile(`\sstyle=`),
		"event handler":  regexp.MustCompile(`\son[a-z]+=`),
		"javascript URL": regexp.MustCompile(`javascript:`),
	} {
		if loc := re.FindIndex(page); loc != nil {
			t.Errorf("index.html has an %s: %q", name, page[loc[0]:min(loc[1]+40, len(page))])
		}
	}
	js, err := appFiles.ReadFile("app/app.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(js), sink) {
			t.Errorf("app.js uses %s (Trusted Types refuse it)", sink)
		}
	}
}

// The vendored oidc-client-ts is the version e2e/package.json pins, as
// recorded by vendor/refresh.sh.
func TestAppVendoredVersion(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "..", "e2e", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		DevDependencies map[string]string `json:"devDependencies"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	version, err := appFiles.ReadFile("app/vendor/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := "oidc-client-ts " + pkg.DevDependencies["oidc-client-ts"] + " "
	if !strings.HasPrefix(string(version), want) {
		t.Errorf("vendor/VERSION says %q, e2e/package.json pins %q: run internal/demo/app/vendor/refresh.sh", strings.SplitN(string(version), "\n", 2)[0], want)
	}
	js, err := appFiles.ReadFile("app/vendor/oidc-client-ts.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(js)
	if !strings.Contains(string(version), "sha256 "+hex.EncodeToString(sum[:])) {
		t.Error("vendor/oidc-client-ts.min.js is not the file vendor/VERSION records: run internal/demo/app/vendor/refresh.sh")
	}
}
