package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatehousehq/gatehouse/internal/exepages"
)

// TestServeReleasesStartPages runs the binary as the auth server and a
// gateway in one process and checks that, once serving, it gave back the
// pages of its binary that the start touched: the log says so with a
// smaller resident set, the kernel has the read-only mappings as read at
// random (the writable ones, the program's data, untouched), a token grant
// and a proxied request still work afterwards, and the resident set stays
// under what it was before. --release-start-pages=false keeps the pages.
func TestServeReleasesStartPages(t *testing.T) {
	bin := buildBinary(t) // skips under -short; written just now, so its pages are dirty (exepages writes them back)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	t.Cleanup(upstream.Close)
	const secret = "svc-secret-0123456789abcdef"

	// By subtest: the binary's pages resident in the process and held by
	// the page cache after a grant and a request.
	type pages struct{ resident, cached uint64 }
	after := map[string]pages{}
	for _, tt := range []struct {
		name     string
		flags    []string
		release  bool
		notOwner bool // run as another user than the binary's owner, as the container image does
	}{
		{"default", nil, true, false},
		{"kept", []string{"--release-start-pages=false"}, false, false},
		{"not the binary's owner", nil, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, run, exe := t.TempDir(), bin, bin
			if tt.notOwner {
				dir, run, exe = asAnotherUser(t, bin)
			}
			gwAddr := freeAddr(t)
			c := startChild(t, run, dir, func(addr string) string {
				return fmt.Sprintf(`authserver:
  issuer: http://%[1]s
  listen: %[1]s
  data: %[2]s
  clients:
    - {id: svc-reports, secret: %[3]s, grants: [client_credentials], scopes: [reports:read], audiences: [gateway]}
gateway:
  listen: %[4]s
  admin_listen: "-"
  issuers: [{name: local, issuer: "http://%[1]s", audiences: [gateway]}]
  routes: [{name: reports, path: /reports, upstreams: ["%[5]s"], auth: jwt}]
`, addr, filepath.Join(dir, "data"), secret, gwAddr, upstream.URL)
			}, tt.flags...)
			pid := c.cmd.Process.Pid
			if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); tt.notOwner && (err != nil || !strings.Contains(string(status), "\nUid:\t65532\t")) {
				t.Fatalf("the child does not run as user 65532 (%v):\n%s", err, status)
			}

			var line struct {
				Mapped uint64 `json:"advised_bytes"`
				Before uint64 `json:"rss_before_bytes"`
				After  uint64 `json:"rss_after_bytes"`
			}
			const msg = `"msg":"start-up pages of the binary released"`
			if tt.release {
				const onTmpfs = "it runs from a memory file system"
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(c.stderr.String(), "start-up pages of the binary") && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if strings.Contains(c.stderr.String(), onTmpfs) {
					t.Skip("the binary is built on tmpfs (TMPDIR), where its pages stay: internal/exepages tests that case")
				}
				for l := range strings.Lines(c.stderr.String()) {
					if strings.Contains(l, msg) {
						if err := json.Unmarshal([]byte(l), &line); err != nil {
							t.Fatalf("log line %s: %v", l, err)
						}
					}
				}
				if line.Before == 0 || line.After >= line.Before || line.Mapped == 0 {
					t.Fatalf("release log line %+v: want a resident set that shrank; stderr:\n%s", line, c.stderr)
				}
				t.Logf("resident set at start %.1f MB, after the release %.1f MB (%.1f MB of the binary advised)", mb(line.Before), mb(line.After), mb(line.Mapped))
			}

			// What the start paged out comes back as it is used.
			cc := clientcredentials.Config{ClientID: "svc-reports", ClientSecret: secret, TokenURL: c.url + "/oauth2/token", Scopes: []string{"reports:read"}}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatalf("token after the release: %v", err)
			}
			req, _ := http.NewRequest(http.MethodGet, "http://"+gwAddr+"/reports/1", nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("gateway after the release: %d", resp.StatusCode)
			}

			readOnly, random, writableRandom := randomReadMappings(t, pid, exe)
			if want := map[bool]int{true: readOnly, false: 0}[tt.release]; random != want || readOnly < 2 {
				t.Errorf("%d of the binary's %d read-only mappings are read at random; want %d", random, readOnly, want)
			}
			if writableRandom != 0 {
				t.Errorf("%d writable mappings of the binary were advised; want none", writableRandom)
			}
			after[tt.name] = pages{resident: residentOf(t, pid, "RssFile"), cached: pageCacheOf(t, exe)}
			if tt.release == false && strings.Contains(c.stderr.String(), msg) {
				t.Errorf("--release-start-pages=false released the pages:\n%s", c.stderr)
			}
		})
	}
	// Argon2 and the heap grow the anonymous part alike; the pages of the
	// binary that serving a grant and a request brings back are fewer than
	// those a start leaves, in the process and in the page cache.
	kept := after["kept"]
	for name, p := range after {
		if name == "kept" {
			continue
		}
		t.Logf("%s: the binary's pages after a grant and a proxied request: %.1f MB resident, %.1f MB in the page cache (kept: %.1f and %.1f MB)", name, mb(p.resident), mb(p.cached), mb(kept.resident), mb(kept.cached))
		// The copy of the other user's run is written just before it
		// starts, in large folios, of which the running code keeps more
		// mapped (11 MB resident with the built binary, 15 with the copy).
		if p.resident >= kept.resident*2/3 || p.cached >= kept.cached*3/4 {
			t.Errorf("%s: the binary's pages after a grant and a request: %.1f MB resident, %.1f MB cached; kept: %.1f and %.1f MB; want less than two thirds resident and three quarters cached", name, mb(p.resident), mb(p.cached), mb(kept.resident), mb(kept.cached))
		}
	}
}

// pageCacheOf is how much of the file at path the page cache holds (exact
// for root, who runs these tests).
func pageCacheOf(t *testing.T, path string) uint64 {
	t.Helper()
	n, err := exepages.CachedBytes(path)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// asAnotherUser prepares a run of bin as user 65532 while root owns the
// binary, as in the container image (which runs as 65532, without
// capabilities, on a read-only root file system): a folder of the system's
// temporary folder (which anyone may enter) holding a copy of bin, root's
// and 0755, a data folder that user may write, and a script that runs the
// copy as that user (its process is the binary's, since the script execs
// it). It skips unless the test runs as root with setpriv(1) on PATH. It
// returns the folder for the configuration, the script, and the copy.
func asAnotherUser(t *testing.T, bin string) (dir, run, copied string) {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if os.Geteuid() != 0 || err != nil {
		t.Skip("needs root and setpriv(1) to run the binary as another user")
	}
	dir, err = os.MkdirTemp("", "gatehouse-other-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil { // the user writes its data folder here
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	copied = filepath.Join(dir, "gatehouse")
	if err := os.WriteFile(copied, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// Run as root: the configuration startChild wrote (serve --config
	// FILE) is root's, 0600.
	run = filepath.Join(dir, "as-65532.sh")
	script := fmt.Sprintf("#!/bin/sh\nchmod a+r \"$3\" || exit 2\nexec %s --reuid=65532 --regid=65532 --clear-groups %s \"$@\"\n", setpriv, copied)
	if err := os.WriteFile(run, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir, run, copied
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

// randomReadMappings counts the mappings of the file bin in the process
// pid's smaps: the read-only ones, those of them the kernel reads at
// random ("rr" in VmFlags), and the writable ones it reads at random.
func randomReadMappings(t *testing.T, pid int, bin string) (readOnly, random, writableRandom int) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(bin, &st); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	ours, writable := false, false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			ours = fields[4] == strconv.FormatUint(st.Ino, 10)
			writable = len(fields[1]) > 1 && fields[1][1] == 'w'
			if ours && !writable {
				readOnly++
			}
		case ours && len(fields) > 0 && fields[0] == "VmFlags:":
			for _, fl := range fields[1:] {
				if fl != "rr" {
					continue
				}
				if writable {
					writableRandom++
				} else {
					random++
				}
			}
		}
	}
	return readOnly, random, writableRandom
}

// residentOf is the field of process pid's status (VmRSS, RssFile), in
// bytes.
func residentOf(t *testing.T, pid int, field string) uint64 {
	t.Helper()
	n, err := statusBytes(strconv.Itoa(pid), field)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
