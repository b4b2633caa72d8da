package guard_test

// The options guard.New refuses, and the rule constructors that panic when
// given nothing to check.

import (
	"net/http"
	"testing"

	"github.com/gatehousehq/gatehouse/guard"
	"github.com/gatehousehq/gatehouse/tokentest"
)

func TestNew(t *testing.T) {
	iss := tokentest.NewIssuer(t, tokentest.WithAudience(audience))
	v := iss.Verifier()
	if _, err := guard.New(nil); err == nil {
		t.Error("nil verifier accepted")
	}
	for name, opt := range map[string]guard.Option{
		"realm with quote":  guard.WithRealm(`a"b`),
		"empty realm":       guard.WithRealm(""),
		"cookie name":       guard.WithCookie("a b"),
		"nil writer":        guard.WithErrorWriter(nil),
		"nil logger":        guard.WithLogger(nil),
		"method name":       guard.WithMethods(map[string]guard.Rule{"Check": guard.Authenticated()}),
		"method no service": guard.WithMethods(map[string]guard.Rule{"//Check": guard.Authenticated()}),
		"nil method rule":   guard.WithMethods(map[string]guard.Rule{"/a.B/C": nil}),
	} {
		if _, err := guard.New(v, opt); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	m := map[string]guard.Rule{"/a.B/C": guard.Authenticated()}
	if _, err := guard.New(v, guard.WithMethods(m), guard.WithMethods(m)); err == nil {
		t.Error("a method with two rules accepted")
	}
	g, err := guard.New(v, guard.WithRealm("shop"))
	if err != nil {
		t.Fatal(err)
	}
	if h := get(g.Middleware(http.HandlerFunc(echo)), "/").Header().Get("WWW-Authenticate"); h != `Bearer realm="shop"` {
		t.Errorf("challenge %s", h)
	}
}

func TestRuleConstructorsPanic(t *testing.T) {
	for name, build := range map[string]func(){
		"Role":       func() { guard.Role("") },
		"AnyRole":    func() { guard.AnyRole() },
		"AnyRole ''": func() { guard.AnyRole("a", "") },
		"Scope":      func() { guard.Scope("") },
		"Scope sp":   func() { guard.Scope("a b") },
		"Group":      func() { guard.Group("") },
		"SameOrg":    func() { guard.SameOrg(nil) },
		"Owner":      func() { guard.Owner(nil) },
		"All":        func() { guard.All() },
		"Any nil":    func() { guard.Any(guard.Authenticated(), nil) },
		"Not":        func() { guard.Not(nil) },
		"Require":    func() { (&guard.Guard{}).Require(nil, http.NotFoundHandler()) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			build()
		}()
	}
}
