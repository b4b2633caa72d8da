package exepages

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// exeMapping is a mapping of the test binary, read from /proc/self/smaps.
type exeMapping struct {
	perms    string
	rssKB    uint64
	randRead bool // "rr" in VmFlags: the kernel took MADV_RANDOM
}

// exeMappings reads the mappings of this test binary from
// /proc/self/smaps.
func exeMappings(t *testing.T) []exeMapping {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []exeMapping
	var cur *exeMapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			cur = nil
			if fields[4] == fmt.Sprint(st.Ino) {
				out = append(out, exeMapping{perms: fields[1]})
				cur = &out[len(out)-1]
			}
			continue
		}
		if cur == nil {
			continue
		}
		switch fields[0] {
		case "Rss:":
			fmt.Sscan(fields[1], &cur.rssKB)
		case "VmFlags:":
			for _, fl := range fields[1:] {
				cur.randRead = cur.randRead || fl == "rr"
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no mapping of the test binary in /proc/self/smaps")
	}
	return out
}

func readOnlyRSS(maps []exeMapping) (kb uint64) {
	for _, m := range maps {
		if m.perms[1] == '-' {
			kb += m.rssKB
		}
	}
	return kb
}

// TestRelease releases the pages of this test binary and checks what the
// kernel did: fewer of them resident and in the page cache, the advised
// mappings read at random, the writable ones (the program's data) left
// alone, and the program still running.
func TestRelease(t *testing.T) {
	before, cachedBefore := exeMappings(t), cachedOfExe(t)
	r, err := Release()
	if errors.Is(err, ErrMemoryFileSystem) {
		t.Skip("the test binary is on tmpfs (GOTMPDIR): TestReleaseOnMemoryFileSystem covers that case")
	}
	if err != nil {
		t.Fatal(err)
	}
	after, cachedAfter := exeMappings(t), cachedOfExe(t)

	var readOnly, random int
	for _, m := range after {
		writable := m.perms[1] == 'w'
		if writable && m.randRead {
			t.Errorf("writable mapping %s was advised", m.perms)
		}
		if !writable {
			readOnly++
			if m.randRead {
				random++
			}
		}
	}
	// A position-independent build's relocated read-only data is skipped.
	if r.Mappings < 1 || r.Mappings+r.Skipped != readOnly || random != r.Mappings {
		t.Errorf("Release advised %d mappings and skipped %d; the binary has %d read-only ones, %d of them read at random", r.Mappings, r.Skipped, readOnly, random)
	}
	if b, a := readOnlyRSS(before), readOnlyRSS(after); a >= b {
		t.Errorf("the binary's read-only pages resident: %d kB before, %d kB after; want fewer after", b, a)
	} else {
		t.Logf("the binary's read-only pages resident: %d kB before, %d kB after (%d kB advised)", b, a, r.Bytes>>10)
	}
	if cachedBefore == 0 {
		t.Log("mincore tells the page cache of a file only to its owner or root: not checked")
	} else if cachedAfter >= cachedBefore {
		t.Errorf("the binary in the page cache: %d kB before, %d kB after; want less after", cachedBefore>>10, cachedAfter>>10)
	} else {
		t.Logf("the binary in the page cache: %d kB before, %d kB after", cachedBefore>>10, cachedAfter>>10)
	}

	// Code and data come back on use: run some of each.
	words := strings.Fields(fmt.Sprintf("%v %q %x", after, "released", r.Bytes))
	sort.Strings(words)
	if len(words) == 0 {
		t.Fatal("no words")
	}
	// A second Release advises the same mappings again.
	if r2, err := Release(); err != nil || r2.Mappings != r.Mappings {
		t.Errorf("second Release: %+v, %v; want %d mappings", r2, err, r.Mappings)
	}
}

// cachedOfExe is how much of this test binary the page cache holds
// (exact for the file's owner, who runs the test).
func cachedOfExe(t *testing.T) uint64 {
	t.Helper()
	n, err := CachedBytes("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReleaseOnMemoryFileSystem runs a copy of this test binary from
// /dev/shm (tmpfs), where Release must advise nothing: the pages are the
// file and would only be unmapped.
func TestReleaseOnMemoryFileSystem(t *testing.T) {
	if os.Getenv("EXEPAGES_CHILD") == "1" {
		_, err := Release()
		fmt.Printf("release: %v\n", err)
		return
	}
	var fs unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &fs); err != nil || fs.Type != unix.TMPFS_MAGIC {
		t.Skip("no tmpfs at /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "exepages-test-")
	if err != nil {
		t.Skipf("/dev/shm: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(dir, "exepages.test")
	if err := os.WriteFile(copyPath, self, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copyPath, "-test.run=^TestReleaseOnMemoryFileSystem$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EXEPAGES_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "permission denied") {
		t.Skipf("/dev/shm does not run programs (noexec): %s", out)
	}
	if err != nil {
		t.Fatalf("the copy on tmpfs: %v\n%s", err, out)
	}
	if want := "release: " + ErrMemoryFileSystem.Error(); !strings.Contains(string(out), want) {
		t.Errorf("the copy on tmpfs printed\n%s\nwant %q", out, want)
	}
}
