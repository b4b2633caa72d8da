package gateway

import (
	"context"
	"errors"
	"hash/maphash"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/token"
	"github.com/gatehousehq/gatehouse/tokentest"
)

// revokeSubject revokes the tokens of one subject; a subject "down" makes
// the check fail (the list could not be read).
type revokeSubject string

func (s revokeSubject) Revoked(_ context.Context, c *token.Claims) (bool, error) {
	if c.Subject == "down" {
		return false, errors.New("deny list unreachable")
	}
	return c.Subject == string(s), nil
}

// A token refused for a reason it keeps is answered the second time from
// the refusal cache: the same status, fields and body, and no second
// check (the guard's audit line is written once); refusals that may
// change are checked every time.
func TestRefusalCache(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	u := newUpstream(t, "u", nil)
	gw := startGW(t, `
issuers: [{name: main, issuer: "{{ISS}}", audiences: [gateway]}]
routes:
  - {name: orders, path: /orders, upstreams: ["{{U}}"], auth: jwt}
`, map[string]string{"ISS": iss.URL, "U": u.URL}, func(o *Options) { o.Revoker = revokeSubject("mallory") })
	alice := token.Claims{Subject: "alice"}
	tests := []struct {
		name   string
		tok    string
		status int
		cached bool
	}{
		{"bad signature", iss.BadSignature(alice), 401, true},
		{"expired", iss.Expired(alice), 401, true},
		{"wrong audience", iss.WrongAudience(alice), 401, true},
		{"wrong issuer", iss.WrongIssuer(alice), 401, true},
		{"malformed", "not.a.jwt", 401, true},
		{"alg none", iss.AlgNone(alice), 401, true},
		{"revoked", iss.Token(token.Claims{Subject: "mallory"}), 401, true},
		{"unknown kid: its key may come", iss.UnknownKey(alice), 401, false},
		{"not yet valid: it will be", iss.NotYetValid(alice), 401, false},
		{"could not be checked", iss.Token(token.Claims{Subject: "down"}), 503, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			audits := func() int { return strings.Count(gw.logs.String(), `"event":"request_refused"`) }
			before := audits()
			type answer struct {
				status int
				header http.Header
				body   string
			}
			var got []answer
			for range 3 {
				resp := gw.do(t, "GET", "/orders", bearer(tc.tok), nil)
				b, _ := io.ReadAll(resp.Body)
				h := resp.Header.Clone()
				delete(h, "Date")
				got = append(got, answer{resp.StatusCode, h, string(b)})
			}
			for i, a := range got {
				if a.status != tc.status {
					t.Fatalf("answer %d: status %d, want %d: %s", i, a.status, tc.status, a.body)
				}
				if a.body != got[0].body || !equalHeader(a.header, got[0].header) {
					t.Fatalf("answer %d differs from the first:\n%v %s\n%v %s", i, a.header, a.body, got[0].header, got[0].body)
				}
			}
			wantAudits := 3
			if tc.cached {
				wantAudits = 1
			}
			if n := audits() - before; n != wantAudits {
				t.Fatalf("%d audit lines for 3 requests, want %d (cached %v)", n, wantAudits, tc.cached)
			}
		})
	}
	// Every request is in the access log and the metrics, cached or not.
	if n := strings.Count(gw.logs.String(), `"msg":"request"`); n != 3*len(tests) {
		t.Fatalf("%d access log lines, want %d", n, 3*len(tests))
	}
	// A good token of the same subject still passes.
	if resp := gw.do(t, "GET", "/orders", bearer(iss.Token(alice)), nil); resp.StatusCode != 200 {
		t.Fatalf("a good token after refusals: %d", resp.StatusCode)
	}
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}

// Entries expire after refusalTTL, are confirmed by the token's SHA-256,
// and the cache holds at most maxRefusals.
func TestRefusalCacheBounds(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience("gateway"))
	c, err := newRefusalCache(iss.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.put("a.b.c", &cachedRefusal{status: 401}, now)
	if c.get("a.b.c", now.Add(refusalTTL-time.Second)) == nil {
		t.Fatal("a refusal was not kept")
	}
	if c.get("a.b.c", now.Add(refusalTTL+time.Second)) != nil {
		t.Fatal("a refusal outlived refusalTTL")
	}
	if c.get("a.b.d", now) != nil {
		t.Fatal("another token was answered")
	}
	// A hash that matches another token's is not taken for it.
	for k, e := range c.byKey {
		delete(c.byKey, k)
		c.byKey[maphashOf(c, "x.y.z")] = e
	}
	if c.get("x.y.z", now) != nil {
		t.Fatal("a token whose hash matches another's was answered")
	}
	for i := range maxRefusals + 100 {
		c.put(strings.Repeat("t", i+1), &cachedRefusal{status: 401}, now)
	}
	if n := len(c.byKey); n > maxRefusals {
		t.Fatalf("%d refusals kept, at most %d", n, maxRefusals)
	}
}

func maphashOf(c *refusalCache, s string) uint64 { return maphash.String(c.seed, s) }
