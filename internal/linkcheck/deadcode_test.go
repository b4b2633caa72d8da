package linkcheck_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// buildTags are the -tags of the release build, read from deploy/build.sh,
// the one build command, so that this test checks the build that ships.
func buildTags(t *testing.T) string {
	t.Helper()
	script, err := os.ReadFile("../../deploy/build.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`go build [^\n]*-tags ([a-z0-9_,]+)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("deploy/build.sh: no 'go build ... -tags TAGS' (grpcnotrace keeps golang.org/x/net/trace out, see its comment)")
	}
	return string(m[1])
}

// TestReleaseBuildKeepsDeadCodeElimination links the gatehouse binary as
// deploy/build.sh does, with the linker's dependency dump (-dumpdep), and
// fails when a function the linker marks <ReflectMethod> is reachable: a
// call of reflect's Method or MethodByName with a name it cannot see, as
// text/template and html/template execution make. Once one is reachable
// the linker keeps every exported method of every type that reaches an
// interface, used or not: the release binary grew from 39 to 52 MB, and
// with it the pages of the binary every gatehouse process maps. The
// failure shows the chain of calls from main to the first such function;
// move that use off the binary's paths (write the output without a
// template, as authserver/pages.go does) or behind a build tag.
func TestReleaseBuildKeepsDeadCodeElimination(t *testing.T) {
	if testing.Short() {
		t.Skip("links the whole binary: not in -short")
	}
	cmd := exec.Command(goTool(t), "build", "-trimpath", "-tags", buildTags(t), "-ldflags=-dumpdep", "-o", os.DevNull, "./cmd/gatehouse")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build -ldflags=-dumpdep ./cmd/gatehouse: %v\n%s", err, tail(stderr.String()))
	}
	from, reflectMethods := parseDumpdep(t, &stderr)
	if len(from) < 1000 {
		t.Fatalf("the linker's -dumpdep printed %d edges: its format changed, this test must follow it", len(from))
	}
	for _, fn := range reflectMethods {
		t.Errorf("reachable %s calls reflect's Method or MethodByName with a name the linker cannot see, so the binary keeps every exported method:\n  %s",
			fn, strings.Join(chain(from, fn), "\n  → "))
		break // the first one; the next appears once it is gone
	}
	if len(reflectMethods) > 1 {
		t.Logf("%d reachable functions are marked <ReflectMethod>: %s", len(reflectMethods), strings.Join(reflectMethods, ", "))
	}
}

// parseDumpdep reads the linker's "A -> B" lines: from maps each symbol to
// the first symbol that made it reachable, reflectMethods lists the
// symbols marked <ReflectMethod> in the order the linker reached them.
func parseDumpdep(t *testing.T, dump *bytes.Buffer) (from map[string]string, reflectMethods []string) {
	t.Helper()
	from = map[string]string{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(dump)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		a, b, ok := strings.Cut(sc.Text(), " -> ")
		if !ok {
			continue
		}
		for _, s := range []*string{&a, &b} {
			name, marks, _ := strings.Cut(*s, " <")
			if strings.Contains(marks, "ReflectMethod") && !seen[name] {
				seen[name] = true
				reflectMethods = append(reflectMethods, name)
			}
			*s = name
		}
		if _, ok := from[b]; !ok {
			from[b] = a
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return from, reflectMethods
}

// chain is the path from the linker's root to sym, root first.
func chain(from map[string]string, sym string) []string {
	path := []string{sym}
	for len(path) < 100 {
		prev, ok := from[path[len(path)-1]]
		if !ok || prev == "_" {
			break
		}
		path = append(path, prev)
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

// tail is the last lines of a long output.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
