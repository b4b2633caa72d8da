package deploy_test

// Rendering: kubectl kustomize of an overlay, read as plain YAML objects
// (rendered; its check runs every check of the files kubernetes_*_test.go),
// the walk helpers m, list and str, the lookups of objects by kind, name
// and selector, and the kustomizations and overlays under deploy/kubernetes.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"go.yaml.in/yaml/v3"
)

func kubectl(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kubectl")
	if err != nil {
		msg := "kubectl is not installed: it renders the overlays (kubectl kustomize)"
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + " and GATEHOUSE_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip(msg)
	}
	return p
}

func kustomizations(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(kubeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "kustomization.yaml" {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func overlayDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(kubeDir, "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		dir := filepath.Join(kubeDir, "overlays", e.Name())
		if _, err := os.Stat(filepath.Join(dir, "kustomization.yaml")); err == nil {
			out = append(out, dir)
		}
	}
	for _, want := range []string{"embedded", "scale-out"} {
		if !slices.Contains(out, filepath.Join(kubeDir, "overlays", want)) {
			t.Errorf("overlay %s is missing from %s/overlays (found %v)", want, kubeDir, out)
		}
	}
	return out
}

func readYAML(t *testing.T, p string, v any) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
}

type obj = map[string]any

type rendered struct {
	dir      string
	raw      []byte // the output of kubectl kustomize
	objs     []obj
	ws       []*workload // the pods of gatehouse serve, once read
	uid      int         // the image's USER
	problems []string
}

func (r *rendered) fail(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// check runs every check of the rendering and returns what is wrong.
func (r *rendered) check() []string {
	r.problems, r.ws = nil, nil
	r.ws = r.workloads()
	if len(r.ws) == 0 {
		r.fail("%s: no Deployment runs gatehouse serve --config", r.dir)
	}
	for _, w := range r.ws {
		r.checkWorkload(w)
	}
	r.checkIssuers(r.ws)
	r.checkServiceEnv(r.ws)
	return r.problems
}

func render(t *testing.T, kc, dir string) *rendered {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(kc, "kustomize", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	return parseRendered(t, dir, stdout.Bytes())
}

func parseRendered(t *testing.T, dir string, raw []byte) *rendered {
	t.Helper()
	r := &rendered{dir: dir, raw: raw}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var o obj
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v", dir, err)
		}
		if o != nil {
			r.objs = append(r.objs, o)
		}
	}
	return r
}

// m, list and str walk a decoded object: m(o, "spec", "template") is the
// map at that path, or nil.
func m(v any, keys ...string) map[string]any {
	for _, k := range keys {
		mv, _ := v.(map[string]any)
		if mv == nil {
			return nil
		}
		v = mv[k]
	}
	mv, _ := v.(map[string]any)
	return mv
}

func list(v any, keys ...string) []any {
	if len(keys) > 0 {
		v = m(v, keys[:len(keys)-1]...)[keys[len(keys)-1]]
	}
	l, _ := v.([]any)
	return l
}

func str(v any, keys ...string) string {
	if len(keys) > 0 {
		v = m(v, keys[:len(keys)-1]...)[keys[len(keys)-1]]
	}
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	}
	return ""
}

func name(o obj) string { return str(o, "metadata", "name") }

func (r *rendered) all(kind string) []obj {
	var out []obj
	for _, o := range r.objs {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

func (r *rendered) get(kind, n string) obj {
	for _, o := range r.all(kind) {
		if name(o) == n {
			return o
		}
	}
	return nil
}

// selects: every label of selector is on labels (an empty selector selects
// nothing here: a Service without one has no endpoints of its own).
func selects(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
