package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startDemoCmd runs 'gatehouse demo' until the returned stop is called,
// and waits for its guide.
func startDemoCmd(t *testing.T, data string) (out *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runContext(ctx, []string{"demo", "--port-base", "0", "--data", data}, strings.NewReader(""), out, errb)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Stop with Ctrl-C.") {
		select {
		case code := <-done:
			t.Fatalf("demo exited %d before printing the guide; stderr: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no guide after 30s; stdout: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return out, func() int {
		cancel() // what SIGINT does through main's signal.NotifyContext
		select {
		case code := <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Fatal("demo did not stop within 15s of Ctrl-C")
			return -1
		}
	}
}

// 'gatehouse demo' prints the guide, stops cleanly on Ctrl-C, and a second
// start reuses the data folder.
func TestDemoGuideCtrlCAndReuse(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	t0 := time.Now()
	out, stop := startDemoCmd(t, data)
	t.Logf("guide after %s", time.Since(t0).Round(time.Millisecond))
	for _, want := range []string{"auth server", "gateway", "alice", "Passwords (shown once", "/api/accounts", "grant_type=password"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the guide lacks %q:\n%s", want, out.String())
		}
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d after Ctrl-C, want 0", code)
	}
	if !strings.Contains(out.String(), "stopping the demo") {
		t.Error("no goodbye after Ctrl-C")
	}
	// The second start accepts the folder that the first one marked.
	if _, err := os.Stat(filepath.Join(data, ".gatehouse-demo")); err != nil {
		t.Fatalf("the first start did not mark its folder: %v", err)
	}
	out, stop = startDemoCmd(t, data)
	if !strings.Contains(out.String(), "Passwords: in ") || strings.Contains(out.String(), "shown once") {
		t.Errorf("second start does not reuse the data folder:\n%s", out.String())
	}
	if code := stop(); code != exitOK {
		t.Fatalf("second run: exit %d after Ctrl-C, want 0", code)
	}
}

// The walkthrough passes; its folder is marked as the demo's, and 'gatehouse
// serve' refuses it (demostore_test.go).
func TestDemoWalkthroughCommand(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "gatehouse-demo")
	r := gh(t, "", "demo", "--walkthrough", "--port-base", "0", "--data", data)
	if r.code != exitOK || !strings.Contains(r.stdout, " 0 failed") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(data, ".gatehouse-demo")); err != nil || !strings.HasPrefix(string(b), "gatehouse-demo 1\n") {
		t.Fatalf("the demo's folder has no marker: %q %v", b, err)
	}
	assertServeRefusesDemoStore(t, data)
}

func TestDemoBadFlags(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"port in use", []string{"--port-base", strconv.Itoa(port)}, []string{strconv.Itoa(port), "--port-base"}},
		{"port base out of range", []string{"--port-base", "100"}, []string{"--port-base 100"}},
		{"argument", []string{"extra"}, []string{"takes no arguments"}},
		{"bad redis URL", []string{"--port-base", "0", "--redis", "ftp://x"}, []string{"--redis"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "port in use" && (port < 922 || port > 65428) {
				t.Skipf("random port %d cannot be a base", port)
			}
			r := gh(t, "", append([]string{"demo", "--data", t.TempDir()}, tt.args...)...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want 2; stderr %s", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q lacks %q", r.stderr, w)
				}
			}
		})
	}
}
