package guard_test

// RequestOrigin: the origin of the proof URL from the host's own function
// (a proxy's forwarded headers), the request's own when it says nothing,
// and a refusal when it cannot tell.

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/token"
)

func TestDPoPRequestOrigin(t *testing.T) {
	v, err := dpop.NewVerifier()
	if err != nil {
		t.Fatal(err)
	}
	origin := func(r *http.Request) (string, error) {
		if o := r.Header.Get("Test-Origin"); o != "bad" {
			return o, nil
		}
		return "", errors.New("the forwarded headers do not parse")
	}
	f := newFixture(t, guard.WithDPoP(v, guard.RequestOrigin(origin)))
	h := f.g.Middleware(okHandler)
	s, _ := dpop.GenerateSigner()
	raw := f.iss.Token(token.Claims{Confirmation: &token.Confirmation{JKT: s.JKT()}})
	send := func(proofURL, testOrigin string) int {
		p, err := s.Proof("GET", proofURL, raw, "")
		if err != nil {
			t.Fatal(err)
		}
		r := dpopReq("GET", "DPoP", raw, p)
		if testOrigin != "" {
			r.Header.Set("Test-Origin", testOrigin)
		}
		return serveReq(h, r).Code
	}
	if c := send("https://api.example.eu/api/orders/7", "https://api.example.eu"); c != http.StatusOK {
		t.Fatalf("a proof for the origin RequestOrigin names: %d", c)
	}
	if c := send("https://api.example/api/orders/7", "https://api.example.eu"); c != http.StatusUnauthorized {
		t.Fatalf("a proof for another origin: %d, want 401", c)
	}
	if c := send("http://10.0.0.5:8080/api/orders/7", ""); c != http.StatusOK {
		t.Fatalf("no origin: the request's own scheme and Host: %d", c)
	}
	// Headers it cannot read: no proof passes, not even one for the
	// request's own scheme and Host.
	p, err := s.Proof("GET", "http://10.0.0.5:8080/api/orders/7", raw, "")
	if err != nil {
		t.Fatal(err)
	}
	r := dpopReq("GET", "DPoP", raw, p)
	r.Header.Set("Test-Origin", "bad")
	w := serveReq(h, r)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_dpop_proof"`) ||
		!strings.Contains(w.Body.String(), "forwarded headers") {
		t.Fatalf("an origin that cannot be told: %d %q %s, want 401 invalid_dpop_proof", w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
	}

	for name, opts := range map[string][]guard.DPoPOption{
		"with ExternalURL": {guard.ExternalURL("https://orders.example"), guard.RequestOrigin(origin)},
		"nil":              {guard.RequestOrigin(nil)},
	} {
		if _, err := guard.New(f.iss.Verifier(), guard.WithDPoP(v, opts...)); err == nil || !strings.Contains(err.Error(), "RequestOrigin") {
			t.Errorf("%s: New = %v, want an error naming RequestOrigin", name, err)
		}
	}
}
