package authserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
)

// from returns an HTTP client whose connections start at the loopback
// address ip (127.0.0.2, ...): to the server, another client IP.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// answer is what the attack tests look at: the status, the OAuth error,
// and the Retry-After header.
type answer struct {
	status     int
	code       string
	retryAfter string
	err        error
}

// send posts form to path of e with hc, with Basic credentials when user
// is set and extra headers (name, value pairs); safe to call from many
// goroutines (it never calls t.Fatal).
func send(hc *http.Client, e *env, path string, form url.Values, user, pass string, headers ...string) answer {
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return answer{status: resp.StatusCode, code: body.Error, retryAfter: resp.Header.Get("Retry-After")}
}

// parallel runs n calls of f at once and counts the answers by
// "status code" ("400 invalid_grant", "429 invalid_grant").
func parallel(t *testing.T, n int, f func(i int) answer) map[string]int {
	t.Helper()
	var (
		mu     sync.Mutex
		counts = map[string]int{}
		wg     sync.WaitGroup
		start  = make(chan struct{})
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a := f(i)
			key := fmt.Sprintf("%d %s", a.status, a.code)
			if a.err != nil {
				key = "error " + a.err.Error()
			} else if (a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable) && a.retryAfter == "" {
				key += " without Retry-After"
			}
			mu.Lock()
			counts[key]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

// onlyKeys fails unless every answer counted is one of want.
func onlyKeys(t *testing.T, counts map[string]int, want ...string) {
	t.Helper()
	for k := range counts {
		found := false
		for _, w := range want {
			found = found || k == w
		}
		if !found {
			t.Errorf("unexpected answers %q: %v", k, counts)
		}
	}
}

// TestParallelPasswordGuessesAreCounted is item 3 of issue #13: 40 wrong
// passwords for one account sent at once used to be checked nearly all,
// since the throttle was asked before argon2id and told after it. Now an
// attempt is reserved before the check: at most Free reach it.
func TestParallelPasswordGuessesAreCounted(t *testing.T) {
	const free, guesses = 5, 40
	e := newEnv(t, func(c *authserver.Config) { c.Throttle = authserver.ThrottleConfig{Free: free, Base: time.Minute} })
	hc := from("127.0.0.1")
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"guess"}}
	counts := parallel(t, guesses, func(i int) answer {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("password", fmt.Sprintf("guess-%d", i))
		return send(hc, e, "/oauth2/token", f, "cli", cliSecret)
	})
	t.Logf("%d parallel wrong passwords for alice: %v", guesses, counts)
	onlyKeys(t, counts, "400 invalid_grant", "429 invalid_grant")
	checked := counts["400 invalid_grant"]
	if checked == 0 || checked > free {
		t.Fatalf("%d guesses reached the password check, want 1..%d", checked, free)
	}
	if n := strings.Count(e.logs.String(), `"event":"login_failed"`); n != checked {
		t.Errorf("%d login_failed events for %d checked guesses", n, checked)
	}
	// They were counted: even the right password waits now.
	if a := send(hc, e, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword}}, "cli", cliSecret); a.status != http.StatusTooManyRequests || a.retryAfter == "" {
		t.Fatalf("alice's password right after the guesses: %+v, want 429 with Retry-After", a)
	}
	// Another account on the same address is not locked out.
	if a := send(hc, e, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"bob"}, "password": {alicePassword}}, "cli", cliSecret); a.status != http.StatusOK {
		t.Fatalf("bob after alice's guesses: %+v, want 200", a)
	}
}

// TestParallelLoginFormGuessesAreCounted: the login form has the same
// throttle, reserved before the check.
func TestParallelLoginFormGuessesAreCounted(t *testing.T) {
	const free, guesses = 5, 40
	e := newEnv(t, func(c *authserver.Config) { c.Throttle = authserver.ThrottleConfig{Free: free, Base: time.Minute} })
	q := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {callback}, "scope": {"openid"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	page := request(t, e, "GET", "/oauth2/authorize?"+q.Encode(), nil)
	body := readAll(t, page)
	form := url.Values{"username": {"alice"}}
	for _, m := range hiddenField.FindAllStringSubmatch(body, -1) {
		form.Add(m[1], htmlUnescape(m[2]))
	}
	var csrf string
	for _, c := range page.Cookies() {
		if c.Name == "gatehouse_csrf" {
			csrf = c.Value
		}
	}
	hc := from("127.0.0.1")
	counts := parallel(t, guesses, func(i int) answer {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("password", fmt.Sprintf("guess-%d", i))
		return send(hc, e, "/login", f, "", "", "Cookie", "gatehouse_csrf="+csrf)
	})
	t.Logf("%d parallel wrong passwords in the login form: %v", guesses, counts)
	// A checked guess shows the form again (200); a refused one 429.
	onlyKeys(t, counts, "200 ", "429 ")
	if checked := counts["200 "]; checked == 0 || checked > free {
		t.Fatalf("%d guesses reached the password check, want 1..%d", checked, free)
	}
}

// TestClientAuthFloodIsThrottledAndBounded is item 4 of issue #13: bad
// client credentials from one address, sent at once, for a known client
// id and for unknown ones, are throttled (429) per id and per IP before
// any argon2id work, and the argon2id work in flight is bounded (503 past
// it); meanwhile a service whose secret is cached, calling from another
// address, keeps getting tokens.
func TestClientAuthFloodIsThrottledAndBounded(t *testing.T) {
	const free = 2 // an IP's allowance is ten times that: 20
	e := newEnv(t, func(c *authserver.Config) {
		c.ClientThrottle = authserver.ThrottleConfig{Free: free, Base: time.Minute}
		c.Argon2Concurrency, c.Argon2Queue = 1, -1 // one verification at a time, none waiting
	})
	legit := from("127.0.0.1")
	cc := url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts:read"}}
	if a := send(legit, e, "/oauth2/token", cc, "svc", svcSecret); a.status != http.StatusOK {
		t.Fatalf("svc before the flood: %+v", a) // its secret is cached from here on
	}

	attacker := from("127.0.0.2")
	stop := make(chan struct{})
	legitDone := make(chan map[string]int)
	go func() { // svc keeps calling while the flood runs
		counts := map[string]int{}
		defer func() { legitDone <- counts }()
		for range 2000 { // bounded; the flood ends long before
			select {
			case <-stop:
				return
			default:
			}
			a := send(legit, e, "/oauth2/token", cc, "svc", svcSecret)
			counts[fmt.Sprintf("%d %s", a.status, a.code)]++
		}
	}()
	// The flood: wrong secrets for svc, and unknown client ids.
	known := parallel(t, 40, func(i int) answer {
		return send(attacker, e, "/oauth2/token", cc, "svc", fmt.Sprintf("wrong-secret-%04d-xxxxxxxx", i))
	})
	unknown := parallel(t, 120, func(i int) answer {
		return send(attacker, e, "/oauth2/token", cc, fmt.Sprintf("ghost-%d", i), "ghost-secret-0123456789")
	})
	close(stop)
	during := <-legitDone
	t.Logf("40 wrong secrets for svc at once: %v", known)
	t.Logf("120 unknown clients at once: %v", unknown)
	t.Logf("svc with its cached secret meanwhile: %v", during)

	// Basic credentials: a failed authentication keeps its 401.
	onlyKeys(t, known, "401 invalid_client", "429 invalid_client", "503 temporarily_unavailable")
	onlyKeys(t, unknown, "401 invalid_client", "429 invalid_client", "503 temporarily_unavailable")
	if checked := known["401 invalid_client"]; checked == 0 || checked > free {
		t.Errorf("%d wrong secrets for svc were checked with argon2id, want 1..%d", checked, free)
	}
	if checked := unknown["401 invalid_client"]; checked > 10*free {
		t.Errorf("%d unknown clients from one address were checked, want at most %d (the IP's allowance)", checked, 10*free)
	}
	if unknown["503 temporarily_unavailable"] == 0 {
		t.Error("unknown clients never met the argon2id bound: do they skip the dummy verification?")
	}
	onlyKeys(t, during, "200 ")
	if during["200 "] == 0 {
		t.Error("svc made no call during the flood")
	}

	// One at a time, the attacker's address runs out of its allowance:
	// wrong secrets for clients of their own (cheap test hashes, where an
	// unknown id costs a verification of the default cost).
	refused := 0
	for i := 0; i < 10*free+1 && refused == 0; i++ {
		id := fmt.Sprintf("bot-%d", i)
		if err := e.store.CreateClient(context.Background(), &identity.Client{ID: id, SecretHash: mustHash(t, "bot-secret-0123456789"),
			Grants: []string{identity.GrantClientCredentials}}); err != nil {
			t.Fatal(err)
		}
		a := send(attacker, e, "/oauth2/token", cc, id, "not-the-bot-secret-0123")
		switch a.status {
		case http.StatusTooManyRequests:
			refused++
			if a.retryAfter == "" {
				t.Error("429 without Retry-After")
			}
		case http.StatusUnauthorized:
		default:
			t.Fatalf("a wrong secret for %s: %+v", id, a)
		}
	}
	if refused == 0 {
		t.Fatalf("%d failed client authentications from one address, and no 429", 10*free+1)
	}
	// svc is not locked out by the failures counted against its id: its
	// cached secret still works, from its own address.
	if a := send(legit, e, "/oauth2/token", cc, "svc", svcSecret); a.status != http.StatusOK {
		t.Fatalf("svc after the flood: %+v", a)
	}
	if strings.Contains(e.logs.String(), "wrong-secret-") || strings.Contains(e.logs.String(), "ghost-secret-") {
		t.Error("a presented secret reached the log")
	}
}

// TestParallelGoodLoginsWaitTheirTurn: the reservation that stops parallel
// guesses does not refuse a burst of good ones; they wait for the attempts
// in flight instead.
func TestParallelGoodLoginsWaitTheirTurn(t *testing.T) {
	e := newEnv(t, func(c *authserver.Config) {
		c.Throttle = authserver.ThrottleConfig{Free: 2, Base: time.Minute}
		c.ClientThrottle = authserver.ThrottleConfig{Free: 2, Base: time.Minute}
	})
	hc := from("127.0.0.1")
	counts := parallel(t, 12, func(int) answer {
		return send(hc, e, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {alicePassword}}, "cli", cliSecret)
	})
	t.Logf("12 parallel good logins (Free 2, cold secret cache): %v", counts)
	onlyKeys(t, counts, "200 ")
}
