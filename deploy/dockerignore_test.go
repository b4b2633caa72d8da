package deploy_test

// .dockerignore: its patterns read as Docker reads them, the build context
// they let through (copyContext, for TestImageBuild), and
// TestDockerignoreMatcher, which pins that reading.

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

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
