// Package browser tests the demo's browser app in a real browser: Debian's
// Chromium, driven by npm's playwright-core (pinned in e2e/package.json)
// through app.mjs.
//
// TestBrowserApp starts `gatehouse demo` on free ports of 127.0.0.1 and
// lets app.mjs use the app as a person would: log in through the auth
// server's HTML form, orders, a refused and an allowed delete, a payment,
// text typed before the access token expires and submitted after it,
// refused renewals that keep the user's draft across a new login,
// RP-initiated logout; and the DPoP binding of its tokens (cnf.jkt of a
// non-extractable WebCrypto key, a proof on every API call, a copied token
// refused without one). Any CSP violation or console error fails it. It
// saves a PNG of each screen in e2e/out/browser/. It skips without Node.js,
// e2e/node_modules or Chromium, and fails instead under CI=true (see
// internal/nodetest). It takes under two minutes: it waits out one access
// token and the background renewal of the next.
package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/internal/demo"
	"github.com/gatehousehq/gatehouse/internal/nodetest"
)

func TestBrowserApp(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the browser test waits out an access token (under two minutes)")
	}
	e2e := nodetest.E2EDir(t)
	chromium := nodetest.RequireChromium(t)
	password := randomHex(t, 12)
	data := t.TempDir()
	out := filepath.Join(e2e, "out", "browser")
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}

	ports, p := startDemo(t, data, password)
	url := func(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }
	appURL := url(ports.Gateway) + "/app/"

	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	output := nodetest.Node(t, ctx, []string{
		"GATEHOUSE_APP_URL=" + appURL,
		"GATEHOUSE_ISSUER=" + url(ports.Auth),
		"GATEHOUSE_ORDERS=" + url(ports.Orders),
		"GATEHOUSE_PASSWORD=" + password,
		"GATEHOUSE_OUT=" + out,
		"GATEHOUSE_CHROMIUM=" + chromium,
	}, "browser/app.mjs")
	t.Logf("app.mjs:\n%s", output)
	if !strings.Contains(output, "ok   all steps") {
		t.Errorf("app.mjs did not finish its steps")
	}
	if t.Failed() {
		t.Logf("gatehouse demo output:\n%s", p.Output())
	}
}

// startDemo starts `gatehouse demo` on a port base whose ports are all
// free, retrying with another base when one was taken in the meantime,
// and waits for its guide.
func startDemo(t *testing.T, data, password string) (demo.Ports, *nodetest.Process) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		base := freeBase(t)
		ports, err := demo.PortsFor(base)
		if err != nil {
			t.Fatal(err)
		}
		p := nodetest.Start(t, data, nil, "demo", "--port-base", strconv.Itoa(base), "--data", data, "--password", password)
		switch waitGuide(p, 60*time.Second) {
		case "ready":
			return ports, p
		case "port in use":
			p.Stop()
			if attempt < 5 {
				continue
			}
		}
		t.Fatalf("gatehouse demo did not start (attempt %d):\n%s", attempt, p.Output())
	}
}

// waitGuide waits for the demo's guide ("ready"), a port in use, or the
// timeout ("").
func waitGuide(p *nodetest.Process, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		out := p.Output()
		switch {
		case strings.Contains(out, "Stop with Ctrl-C."):
			return "ready"
		case strings.Contains(out, demo.ErrPortInUse.Error()):
			return "port in use"
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ""
}

// freeBase returns a port base for the demo whose every port (see
// demo.PortsFor) was free a moment ago.
func freeBase(t *testing.T) int {
	t.Helper()
	for range 50 {
		n, err := rand.Int(rand.Reader, big.NewInt(40000))
		if err != nil {
			t.Fatal(err)
		}
		base := 20000 + int(n.Int64())
		ports, err := demo.PortsFor(base)
		if err != nil {
			continue
		}
		if allFree(ports.Auth, ports.AuthMTLS, ports.Gateway, ports.GatewayAdmin, ports.Accounts, ports.Admin, ports.Users,
			ports.Profiles, ports.Orders, ports.Payments, ports.Legacy, ports.App) {
			return base
		}
	}
	t.Fatal("no port base with all demo ports free")
	return 0
}

func allFree(ports ...int) bool {
	for _, port := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(fmt.Errorf("random: %w", err))
	}
	return hex.EncodeToString(b)
}
