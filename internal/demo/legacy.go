package demo

import (
	"crypto/subtle"
	"net/http"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse/identity"
)

// legacySessionTTL is how long a legacy session lives.
const legacySessionTTL = time.Hour

// legacy is the tiny "existing OAuth2 server" of the organization-scoped data
// scenario: POST /login hands out opaque session tokens, POST /introspect
// (RFC 7662, Basic auth of gatehouse) says whose they are. The auth server is
// configured with it (authserver.Config.Legacy), so token exchange turns a
// session into a JWT without the legacy system changing.
type legacy struct {
	passwords    map[string]string // its own user database
	clientSecret string            // gatehouse's secret at /introspect

	mu       sync.Mutex
	sessions map[string]legacySession
}

type legacySession struct {
	username string
	expires  time.Time
}

func newLegacy(passwords map[string]string, clientSecret string) *legacy {
	return &legacy{passwords: passwords, clientSecret: clientSecret, sessions: map[string]legacySession{}}
}

// handler serves /login and /introspect.
func (l *legacy) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		user, pw := r.PostFormValue("username"), r.PostFormValue("password")
		want, ok := l.passwords[user]
		if !ok || subtle.ConstantTimeCompare([]byte(pw), []byte(want)) != 1 {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong username or password"})
			return
		}
		session := identity.NewSecret() // opaque: no meaning without asking /introspect
		l.mu.Lock()
		l.sessions[session] = legacySession{username: user, expires: time.Now().Add(legacySessionTTL)}
		l.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"session": session, "expires_in": int(legacySessionTTL.Seconds())})
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "gatehouse" || subtle.ConstantTimeCompare([]byte(secret), []byte(l.clientSecret)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="legacy"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
		l.mu.Lock()
		s, found := l.sessions[r.PostFormValue("token")]
		l.mu.Unlock()
		if !found || time.Now().After(s.expires) {
			writeJSON(w, http.StatusOK, map[string]any{"active": false}) // RFC 7662 §2.2
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"active": true, "username": s.username,
			"scope": "openid orders:read", "exp": s.expires.Unix(), "token_type": "session"})
	})
	return mux
}
