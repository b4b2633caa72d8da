package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/keys"
	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// lateIssuer is an issuer on an address that refuses connections until
// start: discovery at /.well-known/openid-configuration and its JWKS at
// /jwks.
type lateIssuer struct {
	URL    string
	key    *keys.Key
	issuer *token.Issuer
	start  func()
}

func (li *lateIssuer) SigningKey() *keys.Key { return li.key }

func newLateIssuer(t *testing.T) *lateIssuer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	li := &lateIssuer{URL: "http://" + addr}
	if li.key, err = keys.Generate(keys.ES256); err != nil {
		t.Fatal(err)
	}
	if li.issuer, err = token.NewIssuer(li.URL, li); err != nil {
		t.Fatal(err)
	}
	jwks, err := keys.MarshalJWKS(li.key)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(`{"issuer":"` + li.URL + `","jwks_uri":"` + li.URL + `/jwks"}`))
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) { w.Write(jwks) })
	var once sync.Once
	li.start = func() {
		once.Do(func() {
			srv := httptest.NewUnstartedServer(mux)
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("the reserved address %s was taken meanwhile: %v", addr, err)
			}
			srv.Listener = l
			srv.Start()
			t.Cleanup(srv.Close)
		})
	}
	return li
}

func (li *lateIssuer) token(t *testing.T) string {
	t.Helper()
	raw, err := li.issuer.AccessToken(token.Claims{Subject: "alice", Audience: token.Audience{"gateway"}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// readyz answers the gateway's /readyz: its status and body.
func readyz(t *testing.T, gw *testGW) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	gw.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// An issuer whose JWKS URL, or whose discovery document, does not answer
// at start: the gateway starts, logs the URL, answers 503 with a problem
// that names the issuer and is not ready on /readyz; once the issuer
// comes up, the background retry fetches the keys, /readyz turns ready
// and tokens pass. A reload keeps the keys fetched.
func TestIssuerDownAtStart(t *testing.T) {
	for _, tt := range []struct {
		name    string
		issuer  string // the issuers[] entry, with {{ISS}}
		logsURL string // what the start-up log names, after ISS
	}{
		{"jwks_url", `{name: main, issuer: "{{ISS}}", jwks_url: "{{ISS}}/jwks", audiences: [gateway]}`, "/jwks"},
		{"discovery", `{name: main, issuer: "{{ISS}}", audiences: [gateway]}`, "/.well-known/openid-configuration"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			li := newLateIssuer(t)
			u := newUpstream(t, "u", nil)
			yml := `
issuers: [` + tt.issuer + `]
routes:
  - {name: api, path: /api, upstreams: ["{{U}}"], auth: jwt}
`
			vars := map[string]string{"ISS": li.URL, "U": u.URL}
			gw := startGW(t, yml, vars)

			logs := gw.logs.String()
			if !strings.Contains(logs, "no signing keys yet for this issuer") || !strings.Contains(logs, `"url":"`+li.URL+tt.logsURL+`"`) {
				t.Errorf("the start-up log does not say that %s%s did not answer:\n%s", li.URL, tt.logsURL, logs)
			}
			if code, body := readyz(t, gw); code != http.StatusServiceUnavailable || !strings.Contains(body, "issuer main has no signing keys yet") ||
				!strings.Contains(body, `"type":"`+problem.TypeUnavailable+`"`) {
				t.Errorf("/readyz before the keys: %d %q, want a 503 problem naming issuer main", code, body)
			}
			resp := gw.do(t, "GET", "/api", bearer(li.token(t)), nil)
			p := problemOf(t, resp, http.StatusServiceUnavailable, problem.TypeUnavailable)
			if d, _ := p["detail"].(string); !strings.Contains(d, "signing keys of issuer "+li.URL+" have not been fetched yet") {
				t.Errorf("problem detail %q does not name the issuer", d)
			}
			if resp.Header.Get("Retry-After") == "" {
				t.Error("the 503 has no Retry-After")
			}

			// A reload while the issuer is still down keeps the source
			// (and its background retry).
			if err := gw.Reload(context.Background(), mustParse(t, yml, vars)); err != nil {
				t.Fatalf("reload while the issuer is down: %v", err)
			}

			li.start()
			deadline := time.Now().Add(10 * time.Second)
			for {
				code, body := readyz(t, gw)
				if code == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("/readyz still %d %q 10s after the issuer came up", code, body)
				}
				time.Sleep(20 * time.Millisecond)
			}
			readEcho(t, gw.do(t, "GET", "/api", bearer(li.token(t)), nil))

			remote := gw.state.Load().issuerKeys[0].remote
			before := remote.Fetches()
			if err := gw.Reload(context.Background(), mustParse(t, yml, vars)); err != nil {
				t.Fatal(err)
			}
			if after := gw.state.Load().issuerKeys[0].remote; after != remote || after.Fetches() != before {
				t.Error("a reload of the same issuer did not keep its key source")
			}
			if code, _ := readyz(t, gw); code != http.StatusOK {
				t.Errorf("/readyz after the reload: %d", code)
			}
		})
	}
}

// An issuer that answers at start is ready at once: the keys are fetched
// while the configuration is built, not at the first request.
func TestIssuerUpAtStartIsReady(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startGW(t, `
issuers: [{name: main, issuer: "{{ISS}}", jwks_url: "{{JWKS}}", audiences: [gateway]}]
routes:
  - {name: api, path: /api, upstreams: ["{{U}}"], auth: jwt}
`, map[string]string{"ISS": iss.URL, "JWKS": iss.JWKSURL(), "U": u.URL})
	if code, body := readyz(t, gw); code != http.StatusOK {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	if strings.Contains(gw.logs.String(), "no signing keys yet") {
		t.Errorf("a warning for an issuer that answered:\n%s", gw.logs.String())
	}
	readEcho(t, gw.do(t, "GET", "/api", bearer(iss.Token(token.Claims{})), nil))
}

// An issuer that accepts connections but never answers (discovery or
// JWKS) holds the start for startupKeyFetch at most; it is then waited
// for in the background like one that is down.
func TestIssuerHangingAtStart(t *testing.T) {
	defer func(d time.Duration) { startupKeyFetch = d }(startupKeyFetch)
	startupKeyFetch = 300 * time.Millisecond
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	u := newUpstream(t, "u", nil)
	for _, issuer := range []string{
		`{name: main, issuer: "{{ISS}}", audiences: [gateway]}`,
		`{name: main, issuer: "{{ISS}}", jwks_url: "{{ISS}}/jwks", audiences: [gateway]}`,
	} {
		start := time.Now()
		gw := startGW(t, `
issuers: [`+issuer+`]
routes:
  - {name: api, path: /api, upstreams: ["{{U}}"], auth: jwt}
`, map[string]string{"ISS": hang.URL, "U": u.URL})
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s: New took %s with a hanging issuer, want about %s", issuer, took, startupKeyFetch)
		}
		if code, _ := readyz(t, gw); code != http.StatusServiceUnavailable {
			t.Errorf("%s: /readyz %d with a hanging issuer", issuer, code)
		}
	}
}
