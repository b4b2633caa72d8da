package linkcheck_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"slices"
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
	// The known positive first: a program that executes a template must
	// show, or the parse below would pass whatever the linker printed.
	control, controlMethods := dumpdep(t, "./internal/linkcheck/testdata/reflectmethod")
	if len(controlMethods) == 0 || !slices.Contains(chain(control, controlMethods[0]), "main.main") {
		t.Fatalf("testdata/reflectmethod executes a template, and the parse of -dumpdep finds no <ReflectMethod> reached from main.main (found %q): the linker's format changed, this test must follow it", controlMethods)
	}
	from, reflectMethods := dumpdep(t, "./cmd/gatehouse", "-tags", buildTags(t))
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

// dumpdep links pkg as the release build does (static, -trimpath, and
// the extra flags) with the linker's dependency dump, and parses it.
func dumpdep(t *testing.T, pkg string, flags ...string) (from map[string]string, reflectMethods []string) {
	t.Helper()
	args := append([]string{"build", "-trimpath"}, flags...)
	cmd := exec.Command(goTool(t), append(args, "-ldflags=-dumpdep", "-o", os.DevNull, pkg)...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build -ldflags=-dumpdep %s: %v\n%s", pkg, err, tail(stderr.String()))
	}
	return parseDumpdep(t, &stderr)
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
			name, marks := splitMarks(*s)
			if strings.Contains(marks, "<ReflectMethod>") && !seen[name] {
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

// splitMarks splits the linker's marks off a symbol of -dumpdep
// ("reflect.Value.Method <ReflectMethod>", "type:T <UsedInIface>"): the
// trailing <Word> groups after a space. A name may hold " <" itself
// (type:<-chan int, go:string."  <bad pc "), so only a suffix made of
// marks is cut.
func splitMarks(s string) (name, marks string) {
	for strings.HasSuffix(s, ">") {
		i := strings.LastIndexByte(s, '<')
		if i < 0 || !isMark(s[i+1:len(s)-1]) {
			break
		}
		marks, s = s[i:]+marks, s[:i]
	}
	if marks == "" {
		return s, ""
	}
	return strings.TrimSuffix(s, " "), marks
}

// isMark reports whether w is a mark's word: ASCII letters only.
func isMark(w string) bool {
	if w == "" {
		return false
	}
	for _, c := range w {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
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

func TestSplitMarks(t *testing.T) {
	for _, tc := range []struct{ in, name, marks string }{
		{"reflect.Value.Method <ReflectMethod>", "reflect.Value.Method", "<ReflectMethod>"},
		{"type:reflect.Value <UsedInIface><ReflectMethod>", "type:reflect.Value", "<UsedInIface><ReflectMethod>"},
		{"type:<-chan struct {}", "type:<-chan struct {}", ""},
		{`go:string."  <bad pc "`, `go:string."  <bad pc "`, ""},
		{"type:<-chan int <UsedInIface>", "type:<-chan int", "<UsedInIface>"},
		{"main.main", "main.main", ""},
	} {
		if name, marks := splitMarks(tc.in); name != tc.name || marks != tc.marks {
			t.Errorf("splitMarks(%q) = %q, %q; want %q, %q", tc.in, name, marks, tc.name, tc.marks)
		}
	}
}
