package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehousehq/gatehouse/gateway"
)

// A gateway in front of one upstream: a route by path prefix, a rate
// limit, and the gateway's own answers as problem+json.
func Example() {
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "orders got %s", r.URL.Path)
	}))
	defer orders.Close()

	cfg, err := gateway.ParseConfig("gateway.yaml", []byte(`
routes:
  - name: orders
    path: /api/orders
    upstreams: [`+orders.URL+`]
    auth: none
    rate_limit: {key: ip, replenish_rate: 1, burst_capacity: 1}
`))
	if err != nil {
		panic(err)
	}
	gw, err := gateway.New(context.Background(), cfg, gateway.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()

	for _, path := range []string{"/api/orders/42", "/api/orders/43", "/elsewhere"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"), strings.SplitN(string(body), ",", 2)[0])
	}
	// Output:
	// 200 text/plain; charset=utf-8 orders got /api/orders/42
	// 429 application/problem+json {"type":"https://gatehouse.dev/problems/rate-limited"
	// 404 application/problem+json {"type":"https://gatehouse.dev/problems/not-found"
}

// Configuration errors name the line, the key and the reason.
func ExampleParseConfig() {
	_, err := gateway.ParseConfig("gateway.yaml", []byte(`
routes:
  - name: app
    path: /
    upstreams: [http://127.0.0.1:9101]
    auth: none
    cors: {allowed_origins: ["*"], allow_credentials: true}
`))
	fmt.Println(err)
	// Output:
	// gateway.yaml:7: routes[0].cors: allowed_origins: "*" with allow_credentials: true would let every site act with the user's credentials; list the origins
}

// Reload swaps the configuration while requests are served; a
// configuration that cannot be built leaves the old one in place.
func ExampleGateway_Reload() {
	up := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, name) }))
	}
	blue, green := up("blue"), up("green")
	defer blue.Close()
	defer green.Close()
	conf := func(upstream string) *gateway.Config {
		cfg, err := gateway.ParseConfig("gateway.yaml", []byte("routes: [{name: app, path: /, auth: none, upstreams: ["+upstream+"]}]"))
		if err != nil {
			panic(err)
		}
		return cfg
	}
	gw, err := gateway.New(context.Background(), conf(blue.URL), gateway.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer gw.Close()
	srv := httptest.NewServer(gw.Handler())
	defer srv.Close()
	get := func() string {
		resp, err := http.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	fmt.Println(get())
	if err := gw.Reload(context.Background(), conf(green.URL)); err != nil {
		panic(err)
	}
	fmt.Println(get())
	// Output:
	// blue
	// green
}
