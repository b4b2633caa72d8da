package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The image is built by 'docker build -t gatehouse .', which CI cannot run
// (no container daemon). CI runs the one build command of the Dockerfile,
// deploy/build.sh, on the build context Docker would send (.dockerignore
// applied), and checks that the binary is static and starts.
//
// This file holds that build test; the Dockerfile is read and checked in
// dockerfile_test.go, and .dockerignore read in dockerignore_test.go.

const (
	root = ".." // the repository, from this package's folder
	// buildCmd is the Dockerfile's build step, and where it puts the binary.
	buildCmd = "sh deploy/build.sh /out/gatehouse"
	builtAt  = "/out/gatehouse"
	dataDir  = "/var/lib/gatehouse"
)

// TestImageBuild runs the Dockerfile's build command on the build context
// Docker would send, and checks that the binary is static, was built as
// the script says, and starts: 'version' and 'serve' on the embedded store.
func TestImageBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the release binary (-short)")
	}
	ctxDir := filepath.Join(t.TempDir(), "context")
	ignore := parseDockerignore(t, filepath.Join(root, ".dockerignore"))
	copyContext(t, root, ctxDir, ignore)
	for _, need := range []string{"go.mod", "go.sum", "deploy/build.sh", "cmd/gatehouse/main.go"} {
		if _, err := os.Stat(filepath.Join(ctxDir, need)); err != nil {
			t.Fatalf(".dockerignore leaves %s out of the build context", need)
		}
	}
	for _, gone := range []string{".git", "e2e/node_modules", "gatehouse-data", "gatehouse-demo"} {
		if _, err := os.Stat(filepath.Join(ctxDir, gone)); err == nil {
			t.Errorf(".dockerignore lets %s into the build context", gone)
		}
	}

	out := filepath.Join(t.TempDir(), "out", "gatehouse")
	argv := strings.Fields(buildCmd)
	argv[len(argv)-1] = out // where the Dockerfile says /out/gatehouse
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = ctxDir
	cmd.Env = append(os.Environ(), "GATEHOUSE_VERSION=v0.0.0-citest")
	var buildOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buildOut, &buildOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s in the build context: %v\n%s", buildCmd, err, buildOut.String())
	}

	// Static: no interpreter, no dynamic section, no shared libraries.
	ef, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a %v program header: it is dynamically linked", p.Type)
		}
	}
	if ef.Section(".dynamic") != nil || ef.Section(".interp") != nil {
		t.Error("the binary has a .dynamic or .interp section: it is dynamically linked")
	}
	if libs, err := ef.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary imports shared libraries %v (%v)", libs, err)
	}

	// Built as deploy/build.sh says.
	bi, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" || settings["-tags"] != "grpcnotrace" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q -tags=%q, want 0, true and grpcnotrace",
			settings["CGO_ENABLED"], settings["-trimpath"], settings["-tags"])
	}
	// -s -w (Go does not record -ldflags with -trimpath): no symbol table,
	// no DWARF.
	if _, err := ef.Symbols(); !errors.Is(err, elf.ErrNoSymbols) {
		t.Errorf("the binary has a symbol table (%v): want -ldflags='-s -w'", err)
	}
	if ef.Section(".debug_info") != nil {
		t.Error("the binary has DWARF (.debug_info): want -ldflags='-s -w'")
	}
	if bi.Path != "github.com/gatehousehq/gatehouse/cmd/gatehouse" {
		t.Errorf("the binary is %s, want github.com/gatehousehq/gatehouse/cmd/gatehouse", bi.Path)
	}

	// It starts: version...
	vctx, vcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer vcancel()
	v, err := exec.CommandContext(vctx, out, "version").CombinedOutput()
	if err != nil || !regexp.MustCompile(`^gatehouse v0\.0\.0-citest \(go1\.\d+(\.\d+)? linux/\w+\)\n$`).Match(v) {
		t.Errorf("gatehouse version: %v, %q", err, v)
	}
	// ...and serves the auth server on its embedded store (pure Go SQLite),
	// then stops on SIGTERM with exit 0, as in a pod.
	serveStatic(t, out)
}

func serveStatic(t *testing.T, bin string) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gatehouse.yaml")
	const issuer = "http://127.0.0.1:9000"
	err := os.WriteFile(cfg, []byte("authserver:\n  issuer: "+issuer+"\n  listen: 127.0.0.1:0\n  data: data\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	stderrPipe, err := cmd.StderrPipe() // the start line and the JSON log
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var stderr strings.Builder
	log := func() string {
		mu.Lock()
		defer mu.Unlock()
		return stderr.String()
	}
	done := make(chan error, 1)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			mu.Lock()
			stderr.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if _, rest, ok := strings.Cut(sc.Text(), "auth server listening on "); ok {
				url, _, _ := strings.Cut(rest, " ")
				addr <- url
			}
		}
		io.Copy(io.Discard, stderrPipe)
		done <- cmd.Wait()
	}()
	var base string
	select {
	case base = <-addr:
	case err := <-done:
		t.Fatalf("gatehouse serve exited before listening: %v\n%s", err, log())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("gatehouse serve did not listen within 60s\n%s", log())
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Errorf("discovery: %v", err)
	} else {
		var doc struct {
			Issuer string `json:"issuer"`
		}
		err := json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil || doc.Issuer != issuer {
			t.Errorf("discovery: %d, issuer %q (%v), want 200 and %s", resp.StatusCode, doc.Issuer, err, issuer)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("gatehouse serve after SIGTERM: %v (want exit 0)\n%s", err, log())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Errorf("gatehouse serve did not stop within 30s of SIGTERM")
	}
}
