//go:build unix

package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/identity"
	"github.com/gatehousehq/gatehouse/identity/sqlite"
	"github.com/gatehousehq/gatehouse/keys"
)

// The token endpoint's benchmarks measure CPU time as well as wall-clock
// time: grants/CPU-s is the grants made over the user+system CPU time the
// whole process spent making them (getrusage RUSAGE_SELF: every thread,
// the HTTP client of the loop, the server and the garbage collector). On
// a shared machine the wall clock measures the other work as much as this
// one; CPU time does not count it, though a busy machine still makes each
// instruction slower (shared caches, hyperthreads), which is why
// BenchmarkClientCredentialsRatio measures the floor in the same run.

// BenchmarkClientCredentials measures the auth server as 'gatehouse serve'
// runs it (SQLite store, real HTTP over loopback, keep-alive connections,
// the JSON audit log, here to io.Discard): client_credentials token
// requests from parallel clients. Each request authenticates the client
// (cached client and secret) and signs one ES256 access token.
// BenchmarkES256Sign is its floor.
func BenchmarkClientCredentials(b *testing.B) {
	grant := tokenEndpoint(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := grant(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/(cpuTime(b)-cpu).Seconds(), "grants/CPU-s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkES256Sign is the floor of BenchmarkClientCredentials: the bare
// ES256 signature of a typical access token's signing input, from as many
// goroutines.
func BenchmarkES256Sign(b *testing.B) {
	sign := es256Sign(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := sign(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/(cpuTime(b)-cpu).Seconds(), "signs/CPU-s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
}

// BenchmarkClientCredentialsRatio alternates rounds of grants and of bare
// signatures (ratioRound of each, from GOMAXPROCS goroutines), measuring
// the CPU time of each round, so that load on the machine hits both
// alike; it reports both rates and grant/sign, the CPU a grant costs in
// signatures. b.N counts grants.
func BenchmarkClientCredentialsRatio(b *testing.B) {
	grant, sign := tokenEndpoint(b), es256Sign(b)
	var grantCPU, signCPU time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += ratioRound {
		n := min(ratioRound, b.N-done)
		grantCPU += cpuOf(b, n, grant)
		signCPU += cpuOf(b, n, sign)
	}
	b.ReportMetric(float64(b.N)/grantCPU.Seconds(), "grants/CPU-s")
	b.ReportMetric(float64(b.N)/signCPU.Seconds(), "signs/CPU-s")
	b.ReportMetric(grantCPU.Seconds()/signCPU.Seconds(), "grant/sign")
}

// ratioRound is the number of grants, and of signatures, of a round.
const ratioRound = 256

// cpuOf runs f n times from GOMAXPROCS goroutines (spread) and returns
// the CPU time the process spent.
func cpuOf(b *testing.B, n int, f func() error) time.Duration {
	start := cpuTime(b)
	if err := spread(n, f); err != nil {
		b.Fatal(err)
	}
	return cpuTime(b) - start
}

// spread runs f n times from GOMAXPROCS goroutines and returns the first
// error.
func spread(n int, f func() error) error {
	p := runtime.GOMAXPROCS(0)
	errs := make([]error, p)
	var wg sync.WaitGroup
	for g := range p {
		wg.Go(func() {
			for i := g; i < n; i += p {
				if errs[g] = f(); errs[g] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// BenchmarkClientCredentialsServer measures the token endpoint alone: the
// grants come from another process (this test binary again, running
// TestClientCredentialsLoad with the same HTTP client), so that the
// server's getrusage counts nothing of the client. Rounds of grants
// alternate with rounds of bare signatures, as in
// BenchmarkClientCredentialsRatio. It reports the server's grants/CPU-s,
// the floor's signs/CPU-s, grant/sign, and the load process's CPU per
// grant (client-µs/grant). b.N counts grants.
func BenchmarkClientCredentialsServer(b *testing.B) {
	base, id, secret := startTokenEndpoint(b)
	warm := grantFunc(base, id, secret)
	if err := warm.do(); err != nil { // pays the argon2id check of the secret once
		b.Fatal(err)
	}
	warm.close()
	sign := es256Sign(b)
	var serverCPU, clientCPU, signCPU time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += loadRound {
		n := min(loadRound, b.N-done)
		server, client := loadFrom(b, n, base, id, secret)
		serverCPU += server
		clientCPU += client
		signCPU += cpuOf(b, n, sign)
	}
	b.ReportMetric(float64(b.N)/serverCPU.Seconds(), "grants/CPU-s")
	b.ReportMetric(float64(b.N)/signCPU.Seconds(), "signs/CPU-s")
	b.ReportMetric(serverCPU.Seconds()/signCPU.Seconds(), "grant/sign")
	b.ReportMetric(float64(clientCPU.Microseconds())/float64(b.N), "client-µs/grant")
}

// loadRound is the number of grants of one load process.
const loadRound = 2000

// loadEnv carries what the load process needs: URL, client id, secret and
// number of grants, separated by spaces.
const loadEnv = "GATEHOUSE_BENCH_LOAD"

// loadFrom makes n grants from a load process and returns the CPU time of
// this process (the server) and of the load process.
func loadFrom(b *testing.B, n int, base, id, secret string) (server, client time.Duration) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestClientCredentialsLoad$", "-test.count=1")
	cmd.Env = append(os.Environ(), loadEnv+"="+strings.Join([]string{base, id, secret, strconv.Itoa(n)}, " "))
	start := cpuTime(b)
	out, err := cmd.CombinedOutput()
	server = cpuTime(b) - start
	if err != nil {
		b.Fatalf("load process: %v\n%s", err, out)
	}
	return server, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// TestClientCredentialsLoad is the load process of
// BenchmarkClientCredentialsServer; without its environment it skips.
func TestClientCredentialsLoad(t *testing.T) {
	f := strings.Fields(os.Getenv(loadEnv))
	if len(f) != 4 {
		t.Skip("the load process of BenchmarkClientCredentialsServer")
	}
	n, err := strconv.Atoi(f[3])
	if err != nil {
		t.Fatal(err)
	}
	g := grantFunc(f[0], f[1], f[2])
	defer g.close()
	if err := spread(n, g.do); err != nil {
		t.Fatal(err)
	}
}

// cpuTime is the user+system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tokenEndpoint starts an auth server on SQLite with one confidential
// client (startTokenEndpoint) and returns a function that makes one
// client_credentials grant over keep-alive HTTP. The secret's argon2id
// check is paid here.
func tokenEndpoint(b *testing.B) func() error {
	b.Helper()
	grant := grantFunc(startTokenEndpoint(b))
	b.Cleanup(grant.close)
	if err := grant.do(); err != nil { // pays the argon2id check of the secret once
		b.Fatal(err)
	}
	return grant.do
}

// startTokenEndpoint starts the auth server of tokenEndpoint and returns
// its URL and its client's id and secret.
func startTokenEndpoint(b *testing.B) (base, id, secret string) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), dbFile))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	secret = identity.NewSecret()
	hash, err := identity.HashSecret(secret)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateClient(ctx, &identity.Client{ID: "svc-accounts", SecretHash: hash, Grants: []string{identity.GrantClientCredentials},
		Scopes: []string{"accounts:read"}, Audiences: []string{"accounts"}}); err != nil {
		b.Fatal(err)
	}
	var handler http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	b.Cleanup(ts.Close)
	srv, err := authserver.New(ctx, authserver.Config{Issuer: ts.URL, Store: st,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}) // as serve.go logs, to stderr
	if err != nil {
		b.Fatal(err)
	}
	handler = srv.Handler()
	return ts.URL, "svc-accounts", secret
}

// granter makes client_credentials grants over keep-alive connections.
type granter struct {
	hc         *http.Client
	url, body  string
	authHeader string
}

func grantFunc(base, id, secret string) *granter {
	return &granter{
		hc:         &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		url:        base + "/oauth2/token",
		body:       url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts:read"}}.Encode(),
		authHeader: "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret)),
	}
}

func (g *granter) do() error {
	req, err := http.NewRequest(http.MethodPost, g.url, strings.NewReader(g.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", g.authHeader)
	resp, err := g.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token endpoint answered %s", resp.Status)
	}
	return nil
}

func (g *granter) close() { g.hc.CloseIdleConnections() }

// es256Sign returns a function that makes the bare ES256 signature of a
// typical access token's signing input.
func es256Sign(b *testing.B) func() error {
	b.Helper()
	k, err := keys.Generate(keys.ES256)
	if err != nil {
		b.Fatal(err)
	}
	enc := base64.RawURLEncoding
	header := `{"alg":"ES256","kid":"` + k.ID() + `","typ":"at+jwt"}`
	claims := `{"iss":"http://127.0.0.1:9000","sub":"svc-accounts","aud":["accounts"],"exp":1767225600,"nbf":1767224700,` +
		`"iat":1767224700,"jti":"k3x7q2m4vbnc5dj6hw8ztr9fya","client_id":"svc-accounts","scope":"accounts:read"}`
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	return func() error {
		_, err := k.Sign(input)
		return err
	}
}
