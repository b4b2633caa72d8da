package relay_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehousehq/gatehouse/relay"
	"github.com/gatehousehq/gatehouse/token"
)

// trackedBody is a request body without GetBody that records its Close.
type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

// staticSource is a Source with a fixed token (and, as a Renewer, a
// sequence of them).
type staticSource struct {
	tokens []string
	i      atomic.Int64
}

func (s *staticSource) Token(context.Context) (string, error) {
	return s.tokens[min(int(s.i.Load()), len(s.tokens)-1)], nil
}

func (s *staticSource) Renew(ctx context.Context, refused string) (string, error) {
	s.i.CompareAndSwap(s.i.Load(), s.i.Load()+1)
	return s.Token(ctx)
}

type failingSource struct{}

func (failingSource) Token(context.Context) (string, error) {
	return "", errors.New("relay: no token today")
}

// TestTransportClosesTheBodyOnEveryPath, as RoundTripper requires.
func TestTransportClosesTheBodyOnEveryPath(t *testing.T) {
	var hits atomic.Int64
	status := atomic.Int64{}
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	for _, tt := range []struct {
		name    string
		src     relay.Source
		status  int
		wantErr error
	}{
		{"token error", failingSource{}, http.StatusOK, nil},
		{"sent", &staticSource{tokens: []string{"t1"}}, http.StatusOK, nil},
		{"401, not replayable", &staticSource{tokens: []string{"t1", "t2"}}, http.StatusUnauthorized, nil},
		{"circuit open", &staticSource{tokens: []string{"t1"}}, http.StatusInternalServerError, relay.ErrCircuitOpen},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status.Store(int64(tt.status))
			tr, err := relay.NewTransport(http.DefaultTransport, tt.src, relay.WithBreaker(1, time.Minute), relay.WithRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != nil { // open the breaker first
				resp, err := tr.RoundTrip(httptest.NewRequest(http.MethodGet, srv.URL, nil))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			body := &trackedBody{Reader: strings.NewReader("payload")}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
			resp, err := tr.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if !body.closed.Load() {
				t.Fatal("the request body was not closed")
			}
		})
	}
}

func TestTransportReplacesIncomingAuthorization(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Values("Authorization")
	}))
	defer srv.Close()
	tr, _ := relay.NewTransport(http.DefaultTransport, &staticSource{tokens: []string{"mine"}})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Add("Authorization", "Bearer theirs")
	req.Header.Add("Authorization", "Basic dXNlcjpwYXNz")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(got) != 1 || got[0] != "Bearer mine" {
		t.Fatalf("downstream saw Authorization %q", got)
	}
	if len(req.Header.Values("Authorization")) != 2 {
		t.Fatal("the caller's request was modified")
	}
}

// TestTransportPassesTheContextToTheBase: what otelhttp needs to put the
// span of the caller's context next to the token.
func TestTransportPassesTheContextToTheBase(t *testing.T) {
	type spanKey struct{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Traceparent") == "" || r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	// A stand-in for otelhttp.NewTransport: injects the context's span.
	tracing := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		span, _ := r.Context().Value(spanKey{}).(string)
		r = r.Clone(r.Context())
		r.Header.Set("Traceparent", span)
		return http.DefaultTransport.RoundTrip(r)
	})
	tr, _ := relay.NewTransport(tracing, relay.Relay{})
	ctx := token.NewContext(context.WithValue(context.Background(), spanKey{}, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), "tok", nil)
	status, _, err := get(t, ctx, &http.Client{Transport: tr}, srv.URL)
	if err != nil || status != http.StatusOK {
		t.Fatalf("%d %v: trace context or token missing", status, err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestNewTransportRefusals(t *testing.T) {
	src := relay.Relay{}
	if _, err := relay.NewTransport(http.DefaultTransport, nil); err == nil {
		t.Fatal("nil source accepted")
	}
	for name, opt := range badOptions() {
		t.Run(name, func(t *testing.T) {
			if _, err := relay.NewTransport(http.DefaultTransport, src, opt); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	res, _ := relay.NewResilient(nil)
	if _, err := relay.NewTransport(res, src, relay.WithRetries(1)); err == nil {
		t.Fatal("options for a Resilient base accepted")
	}
}

// TestNewTransportNilBase: nil is http.DefaultTransport, for NewTransport
// and NewResilient.
func TestNewTransportNilBase(t *testing.T) {
	var got string
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
	}))
	tr, err := relay.NewTransport(nil, fixedSource("mine"))
	if err != nil {
		t.Fatal(err)
	}
	if status, _, err := get(t, t.Context(), &http.Client{Transport: tr}, srv.URL); err != nil || status != http.StatusOK || got != "Bearer mine" {
		t.Fatalf("%d %v; downstream saw %q", status, err, got)
	}
	if status, _, err := get(t, t.Context(), resilientClient(t, nil), srv.URL); err != nil || status != http.StatusOK || got != "" {
		t.Fatalf("%d %v; downstream saw %q", status, err, got)
	}
}

// TestTransportsShareAResilient: transports of two sources over one
// Resilient share its breaker of a host.
func TestTransportsShareAResilient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newFakeHost(http.StatusInternalServerError)
		res, err := relay.NewResilient(b, relay.WithRetries(0), relay.WithBreaker(2, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		onBehalf, _ := relay.NewTransport(res, fixedSource("user's"))
		asItself, _ := relay.NewTransport(res, fixedSource("its own"))
		get(t, t.Context(), &http.Client{Transport: onBehalf}, "http://b.test/")
		get(t, t.Context(), &http.Client{Transport: asItself}, "http://b.test/")
		if _, _, err := get(t, t.Context(), &http.Client{Transport: onBehalf}, "http://b.test/"); !errors.Is(err, relay.ErrCircuitOpen) {
			t.Fatalf("got %v, want ErrCircuitOpen after one failure through each transport", err)
		}
	})
}

func TestTokenEndpointAnswersAreBounded(t *testing.T) {
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"`)
		io.Copy(w, io.LimitReader(infinite{}, 2<<20))
		io.WriteString(w, `","token_type":"Bearer","issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}`)
	}))
	defer huge.Close()
	ex, _ := relay.NewExchange(relay.ExchangeConfig{TokenURL: huge.URL, ClientID: "a", ClientSecret: "s", Audience: "b"})
	ctx := token.NewContext(context.Background(), "caller", nil)
	if _, err := ex.Token(ctx); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("exchange: got %v, want the size limit", err)
	}
	cc, _ := relay.NewClientCredentials(relay.ClientCredentialsConfig{OAuth2: clientCredentialsConfig(huge.URL)})
	if _, err := cc.Token(ctx); err == nil {
		t.Fatal("client credentials: a 2 MiB answer was accepted")
	}
}

type infinite struct{}

func (infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// TestOAuth2Source: any golang.org/x/oauth2 TokenSource can feed the
// transport.
func TestOAuth2Source(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
	}))
	defer srv.Close()
	src := relay.NewOAuth2Source(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "from-x-oauth2"}))
	if status, _, err := get(t, t.Context(), relayClient(t, src), srv.URL); err != nil || status != http.StatusOK {
		t.Fatalf("%d %v", status, err)
	}
	if got != "Bearer from-x-oauth2" {
		t.Fatalf("downstream saw %q", got)
	}
	if _, err := relay.NewOAuth2Source(oauth2.StaticTokenSource(&oauth2.Token{})).Token(t.Context()); err == nil {
		t.Fatal("an empty access token was accepted")
	}
}

// A downstream service that redirects elsewhere does not get the caller's
// token sent to the new origin (http.Client would call RoundTrip again, and
// the transport would set the token on it); a same-origin redirect works.
func TestTransportRefusesCrossOriginRedirects(t *testing.T) {
	var leaked atomic.Int64
	evil := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
	}))
	var downstream *httptest.Server
	downstream = newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, evil.URL+"/steal", http.StatusFound)
		case "/moved":
			http.Redirect(w, r, downstream.URL+"/here", http.StatusFound)
		case "/here":
			if r.Header.Get("Authorization") != "Bearer caller-token" {
				w.WriteHeader(http.StatusUnauthorized)
			}
		}
	}))
	tr, err := relay.NewTransport(http.DefaultTransport, fixedSource("caller-token"))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: tr}
	if status, _, err := get(t, context.Background(), client, downstream.URL+"/moved"); err != nil || status != http.StatusOK {
		t.Fatalf("same-origin redirect: %d %v", status, err)
	}
	_, _, err = get(t, context.Background(), client, downstream.URL+"/away")
	if !errors.Is(err, relay.ErrCrossOriginRedirect) {
		t.Fatalf("cross-origin redirect: %v, want ErrCrossOriginRedirect", err)
	}
	if leaked.Load() != 0 {
		t.Fatal("the token was sent to the origin of the redirect")
	}
}

type fixedSource string

func (s fixedSource) Token(context.Context) (string, error) { return string(s), nil }
