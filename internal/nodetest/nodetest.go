// Package nodetest runs gatehouse the way third-party tools see it: it
// builds the gatehouse binary once per test process, starts it as a child
// process on free ports of 127.0.0.1, and runs Node.js scripts of the e2e
// folder (Playwright driving Chromium, openid-client, jose) against it.
//
// Tests skip with a message when Node.js, the e2e folder's node_modules or
// Chromium are missing, and fail instead under CI=true or
// GATEHOUSE_TEST_REQUIRE_SERVICES=1 (as .ci/run sets), where .ci/run has
// installed them.
package nodetest

import (
	"bytes"
	"context"

	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Chromium is where Debian's chromium package installs the browser.
const Chromium = "/usr/bin/chromium"

// required reports whether a missing tool fails the test instead of
// skipping it.
func required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1"
}

// missing skips t, or fails it where the tools are required.
func missing(t testing.TB, what string) {
	t.Helper()
	if required() {
		t.Fatalf("%s (CI=true or GATEHOUSE_TEST_REQUIRE_SERVICES=1: .ci/run installs it)", what)
	}
	t.Skipf("%s; run .ci/run once, or `npm ci` in e2e/, to run this test", what)
}

// Root returns the repository root (the folder with go.mod).
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("nodetest: cannot locate the source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// E2EDir returns the e2e folder, after checking that node and its
// node_modules are there.
func E2EDir(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		missing(t, "node is not on PATH")
	}
	dir := filepath.Join(Root(t), "e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err != nil {
		missing(t, "e2e/node_modules is missing")
	}
	return dir
}

// RequireChromium returns the path of Debian's Chromium, after checking
// that it is installed.
func RequireChromium(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		missing(t, Chromium+" is missing (apt-get install -y chromium)")
	}
	return Chromium
}

var build struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// Binary builds ./cmd/gatehouse once per test process and returns its
// path.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-nodetest-")
		if err != nil {
			build.err = err
			return
		}
		build.path = filepath.Join(dir, "gatehouse")
		// Built as deploy/build.sh builds the release (static, -trimpath,
		// -tags grpcnotrace), so that the e2e tests, cmd/gatehouse's and
		// deploy/'s share one build cache: .ci/run warms it once.
		cmd := exec.Command("go", "build", "-trimpath", "-tags", "grpcnotrace", "-o", build.path, "./cmd/gatehouse")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Dir = Root(t)
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build ./cmd/gatehouse: %v\n%s", build.err, build.out)
	}
	return build.path
}

// FreePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Process is a running gatehouse child process.
type Process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// Start runs the built binary with args in dir; the process is stopped
// (SIGINT, then SIGKILL) when the test ends, and its output is logged if
// the test failed.
func Start(t testing.TB, dir string, env []string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(Binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &Process{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gatehouse %s: %v", strings.Join(args, " "), err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("gatehouse %s output:\n%s", strings.Join(args, " "), p.Output())
		}
	})
	return p
}

// Output returns what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Stop interrupts the process and waits for it (5s, then kills it).
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// WaitFor waits until the process output contains s, failing the test
// after timeout or when the process exits first.
func (p *Process) WaitFor(t testing.TB, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.Output(), s) {
		select {
		case <-p.done:
			t.Fatalf("gatehouse exited before printing %q:\n%s", s, p.Output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse did not print %q within %s:\n%s", s, timeout, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Node runs `node script args...` in the e2e folder with env added and
// returns its combined output; a non-zero exit fails the test with that
// output.
func Node(t testing.TB, ctx context.Context, env []string, script string, args ...string) string {
	t.Helper()
	dir := E2EDir(t)
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out.String())
	}
	return out.String()
}

// syncBuffer is a bytes.Buffer safe for the writes of a child process and
// concurrent reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
