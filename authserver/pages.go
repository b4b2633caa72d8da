package authserver

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// The HTML pages of the auth server (login form, errors, logout) and the
// headers they are sent with. Their Content-Security-Policy allows nothing
// but the one stylesheet below (by hash, no 'unsafe-inline'), no script,
// no framing, and forms posted to this server only, with one exception the
// browser makes necessary: the login form's POST answers with a 303 to the
// client's redirect URI, and Chromium applies form-action to that redirect
// too (w3c/webappsec-csp#8), so the login page also allows the origin of
// the redirect URI that the request was validated against, and nothing
// else.

// pageCSS is the style of every page; the CSP allows it by its hash.
const pageCSS = `body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem;color:#1d2433}` +
	`label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.45rem;box-sizing:border-box;font:inherit}` +
	`button{margin-top:1rem;padding:.5rem 1.2rem;font:inherit}.error{color:#a00}`

var pageCSSHash = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

const pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<style>` + pageCSS + `</style>`

// The pages are written by the functions below rather than html/template:
// a reachable template execution keeps every exported method of every type
// in the binary (the linker cannot tell which one a template calls by name),
// which made the gatehouse binary a quarter larger. Every value from a
// request goes through html.EscapeString, and only into text or a
// double-quoted attribute value, the two contexts where that escaping is
// complete; no value reaches a URL, script or style context.

// escapeHTML escapes s for text or a double-quoted attribute value, and
// replaces NUL with U+FFFD as an HTML parser would (and html/template did).
func escapeHTML(s string) string {
	return html.EscapeString(strings.ReplaceAll(s, "\x00", "\uFFFD"))
}

// writeLoginPage writes the login form: the client it signs in to, a message (a
// failed attempt), the CSRF token and the authorization request's
// parameters as hidden fields, posted to /login.
func writeLoginPage(w io.Writer, client, message, csrf string, hidden []hiddenField) {
	var b strings.Builder
	b.WriteString(pageHead + "<title>Sign in · gatehouse</title></head>\n<body><h1>Sign in</h1>\n")
	if client != "" {
		b.WriteString("<p>to continue to <strong>" + escapeHTML(client) + "</strong></p>")
	}
	b.WriteString("\n")
	if message != "" {
		b.WriteString(`<p class="error" role="alert">` + escapeHTML(message) + "</p>")
	}
	b.WriteString("\n" + `<form method="post" action="/login">` + "\n")
	b.WriteString(`<input type="hidden" name="csrf" value="` + escapeHTML(csrf) + `">` + "\n")
	for _, f := range hidden {
		b.WriteString(`<input type="hidden" name="` + escapeHTML(f.Name) + `" value="` + escapeHTML(f.Value) + `">` + "\n")
	}
	b.WriteString(`<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form></body></html>`)
	io.WriteString(w, b.String())
}

// writeErrorPage writes the page of a request that cannot go on, with its message.
func writeErrorPage(w io.Writer, message string) {
	io.WriteString(w, pageHead+"<title>Cannot sign in · gatehouse</title></head>\n"+
		`<body><h1>Cannot sign in</h1><p class="error">`+escapeHTML(message)+"</p></body></html>")
}

// writeLoggedOutPage writes the page after a logout without a redirect; signedIn
// says whether there was a session to end.
func writeLoggedOutPage(w io.Writer, signedIn bool) {
	text := "You are not signed in here. You can close this window."
	if signedIn {
		text = "Your session has ended. You can close this window."
	}
	io.WriteString(w, pageHead+"<title>Signed out · gatehouse</title></head>\n<body><h1>Signed out</h1><p>"+text+"</p></body></html>")
}

type hiddenField struct{ Name, Value string }

// pageHeaders sets the headers of an HTML page. formRedirect is the
// validated redirect URI the page's form may end at (the login form), or
// "" for pages without a form.
func pageHeaders(w http.ResponseWriter, formRedirect string) {
	formAction := "'none'"
	if formRedirect != "" {
		formAction = "'self'"
		if src := cspSource(formRedirect); src != "" {
			formAction += " " + src
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+pageCSSHash+"; form-action "+formAction+
		"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
}

var (
	cspScheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]*$`)
	cspHost   = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9a-f:.]+\](:[0-9]{1,5})?$`)
)

// cspSource is the CSP source expression of a redirect URI (CSP3 §2.3.1):
// its origin for http(s) ("https://app.example:8443"), its scheme for the
// private-use schemes of native apps ("com.example.app:", RFC 8252 §7.1).
// "" when the URI has characters that could change the policy; a URI
// registered for a client never has.
func cspSource(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if !cspScheme.MatchString(scheme) {
		return ""
	}
	if scheme != "http" && scheme != "https" {
		return scheme + ":"
	}
	host := strings.ToLower(u.Host)
	if !cspHost.MatchString(host) {
		return ""
	}
	return scheme + "://" + host
}
