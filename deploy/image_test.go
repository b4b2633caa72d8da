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
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

const (
	root = ".." // the repository, from this package's folder
	// buildCmd is the Dockerfile's build step, and where it puts the binary.
	buildCmd = "sh deploy/build.sh /out/gatehouse"
	builtAt  = "/out/gatehouse"
	dataDir  = "/var/lib/gatehouse"
)

// instruction is one instruction of a Dockerfile.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, ...
	args string
}

type stage struct {
	image, name string
	ins         []instruction
}

// parseDockerfile reads the instructions (comments and parser directives
// skipped, continuation lines joined) into stages.
func parseDockerfile(t *testing.T, p string) []stage {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) == 0 {
			t.Fatalf("%s:%d: %s before the first FROM", p, in.line, in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	for i, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue // a comment or a parser directive
		}
		if cur.Len() == 0 {
			if trimmed == "" {
				continue
			}
			start = i + 1
		}
		if body, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	return stages
}

// TestDockerfile: a static build by deploy/build.sh on the Go release of
// go.mod, copied onto distroless (or scratch) and run as a numeric
// non-root user, with the data folder a volume that user owns.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and the image", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	// The build stage: golang of go.mod's release, running the script.
	if build.name != "build" {
		t.Errorf("the first stage is named %q, want build (COPY --from=build)", build.name)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(readFile(t, filepath.Join(root, "go.mod")))
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "golang:" + string(goLine[1]); build.image != want && !strings.HasPrefix(build.image, want+"-") && !strings.HasPrefix(build.image, want+".") {
		t.Errorf("build stage FROM %s, want %s (go.mod's go %s)", build.image, want, goLine[1])
	}
	runs := 0
	for _, in := range build.ins {
		if in.cmd != "RUN" {
			continue
		}
		cmd := in.args
		for strings.HasPrefix(cmd, "--") { // --mount=..., --network=...
			_, cmd, _ = strings.Cut(cmd, " ")
			cmd = strings.TrimSpace(cmd)
		}
		if strings.Contains(cmd, "go build") {
			t.Errorf("Dockerfile:%d: RUN %s: the build command lives in deploy/build.sh only (CI runs that)", in.line, cmd)
		}
		if cmd == buildCmd {
			runs++
		}
	}
	if runs != 1 {
		t.Errorf("the build stage runs %q %d times, want once", buildCmd, runs)
	}

	// The image.
	if !regexp.MustCompile(`^(gcr\.io/distroless/static(-debian\d+)?:nonroot|scratch)$`).MatchString(final.image) {
		t.Errorf("the image is FROM %s, want gcr.io/distroless/static-debian12:nonroot or scratch", final.image)
	}
	var binary, user, entrypoint string
	var dataOwner string
	volume := false
	for _, in := range final.ins {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.args)
			var chown string
			from := ""
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				if v, ok := strings.CutPrefix(f[0], "--from="); ok {
					from = v
				}
				if v, ok := strings.CutPrefix(f[0], "--chown="); ok {
					chown = v
				}
				f = f[1:]
			}
			if from == "build" && len(f) == 2 && f[0] == builtAt {
				binary = f[1]
			}
			if len(f) == 2 && strings.TrimSuffix(f[1], "/") == dataDir {
				dataOwner = chown
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			var argv []string
			if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
				t.Errorf("Dockerfile:%d: ENTRYPOINT %s: want the exec form, [\"/path/to/gatehouse\"]", in.line, in.args)
			} else {
				entrypoint = argv[0]
			}
		case "VOLUME":
			volume = volume || strings.Contains(in.args, `"`+dataDir+`"`) || strings.Fields(in.args)[0] == dataDir
		}
	}
	if binary == "" {
		t.Errorf("the image does not COPY --from=build %s", builtAt)
	}
	if entrypoint != binary {
		t.Errorf("ENTRYPOINT runs %q, but the binary is copied to %q", entrypoint, binary)
	}
	uid := imageUID(t)
	if uid == 0 {
		t.Errorf("USER %q: want a numeric non-root user (Kubernetes' runAsNonRoot can only check a number)", user)
	}
	if !volume {
		t.Errorf("the image declares no VOLUME %s", dataDir)
	}
	if owner, _, _ := strings.Cut(dataOwner, ":"); owner != strconv.Itoa(uid) {
		t.Errorf("%s is copied with --chown=%q, want the USER %d: a new volume takes the image folder's owner, and gatehouse must write there", dataDir, dataOwner, uid)
	}
}

// imageUID is the numeric user of the image's USER, 0 when it is not one.
func imageUID(t *testing.T) int {
	t.Helper()
	stages := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	user := ""
	for _, in := range stages[len(stages)-1].ins {
		if in.cmd == "USER" {
			user = in.args
		}
	}
	u, _, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(u)
	if err != nil {
		return 0
	}
	return n
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

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

// --- .dockerignore ---------------------------------------------------------

type ignoreRule struct {
	re        *regexp.Regexp
	exception bool // !pattern
	pattern   string
}

// parseDockerignore reads the patterns as Docker does: one a line,
// # comments, paths relative to the context's root (a leading / is
// dropped), * and ? within a path element, ** across elements, ! to let a
// path in again; the last pattern that matches a path or one of its
// parent folders decides.
func parseDockerignore(t *testing.T, p string) []ignoreRule {
	t.Helper()
	var rules []ignoreRule
	for i, line := range strings.Split(string(readFile(t, p)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{pattern: line}
		if rest, ok := strings.CutPrefix(line, "!"); ok {
			r.exception, line = true, strings.TrimSpace(rest)
		}
		line = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(line)), "/")
		if strings.ContainsAny(line, `[\`) {
			t.Fatalf("%s:%d: %q: this test reads *, ? and ** only; extend parseDockerignore", p, i+1, r.pattern)
		}
		var re strings.Builder
		re.WriteString("^")
		for j := 0; j < len(line); j++ {
			switch c := line[j]; {
			case strings.HasPrefix(line[j:], "**/"):
				re.WriteString("(.*/)?")
				j += 2
			case strings.HasPrefix(line[j:], "**"):
				re.WriteString(".*")
				j++
			case c == '*':
				re.WriteString("[^/]*")
			case c == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(string(c)))
			}
		}
		re.WriteString("$")
		r.re = regexp.MustCompile(re.String())
		rules = append(rules, r)
	}
	return rules
}

// ignored says whether rel (slash-separated, relative to the context) is
// left out of the build context.
func ignored(rules []ignoreRule, rel string) bool {
	out := false
	for _, r := range rules {
		match := false
		for p := rel; p != "." && p != ""; p = filepath.ToSlash(filepath.Dir(p)) {
			if r.re.MatchString(p) {
				match = true
				break
			}
		}
		if match {
			out = !r.exception
		}
	}
	return out
}

// copyContext copies the files of src that .dockerignore lets through to
// dst, as the build context.
func copyContext(t *testing.T, src, dst string, rules []ignoreRule) {
	t.Helper()
	exceptions := false
	for _, r := range rules {
		exceptions = exceptions || r.exception
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return os.MkdirAll(dst, 0o755)
		}
		if ignored(rules, rel) {
			if d.IsDir() && !exceptions {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, filepath.FromSlash(rel))
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil // sockets and the like are not sent
	})
	if err != nil {
		t.Fatalf("copy the build context: %v", err)
	}
}

// TestDockerignoreMatcher pins the reading of .dockerignore patterns that
// the build test relies on.
func TestDockerignoreMatcher(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".dockerignore")
	err := os.WriteFile(p, []byte("# comment\n.git\n**/node_modules\n/gatehouse\n**/*.test\ndocs/*.png\n!docs/keep.png\n"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	rules := parseDockerignore(t, p)
	for rel, want := range map[string]bool{
		".git": true, ".git/config": true, ".github/x": false,
		"e2e/node_modules": true, "e2e/node_modules/a/b.js": true, "node_modules": true,
		"gatehouse": true, "cmd/gatehouse": false, "cmd/gatehouse/main.go": false,
		"x.test": true, "a/b/x.test": true, "a/test.go": false,
		"docs/a.png": true, "docs/keep.png": false, "docs/img/a.png": false,
	} {
		if got := ignored(rules, rel); got != want {
			t.Errorf("ignored(%q) = %v, want %v", rel, got, want)
		}
	}
}
