package deploy_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/internal/config"
)

// The manifests are checked here against the configuration loader: the
// Kubernetes objects are read as plain YAML (this module links no
// Kubernetes package; deploy/kubernetes/check decodes them into the API
// types).
//
// This file holds the tests of the files under deploy/kubernetes and of
// each rendered overlay. An overlay is rendered and read in
// kubernetes_render_test.go, its pods of gatehouse serve in
// kubernetes_workloads_test.go; each pod is checked in
// kubernetes_workload_checks_test.go, the URLs and issuers across pods in
// kubernetes_urls_test.go, and kubernetes_mistakes_test.go makes each
// check refuse the mistake it is there for.

const kubeDir = "kubernetes"

// TestConfigFilesLoad loads every gatehouse.yaml under deploy/kubernetes
// with the loader of 'gatehouse serve': unknown keys, wrong types and
// invalid values fail here, as they would fail the pod.
func TestConfigFilesLoad(t *testing.T) {
	var files []string
	err := filepath.WalkDir(kubeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "check" {
			return filepath.SkipDir // the Go module of the object checks
		}
		if !d.IsDir() && d.Name() == "gatehouse.yaml" {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The auth servers' and the gateways' of the base, and the embedded
	// shape's one process.
	if len(files) < 3 {
		t.Fatalf("found %d gatehouse.yaml files under deploy/kubernetes (%v), want at least 3", len(files), files)
	}
	for _, p := range files {
		f, err := config.Load(p)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if f.AuthServer == nil && f.Gateway == nil {
			t.Errorf("%s: neither an authserver nor a gateway section: gatehouse serve would refuse it", p)
		}
	}
}

// TestPlaceholderSecretsAreEmpty: the files the secretGenerators of the
// manifests read are placeholders, empty, so that a deployment whose
// secrets were not filled in fails at start ("secret_file: ... is empty",
// "GATEHOUSE_REDIS_URL is empty") instead of running with a secret from
// git; and no generator holds a literal.
func TestPlaceholderSecretsAreEmpty(t *testing.T) {
	kusts := kustomizations(t)
	n := 0
	for _, k := range kusts {
		var doc struct {
			SecretGenerator []struct {
				Name     string   `yaml:"name"`
				Files    []string `yaml:"files"`
				Envs     []string `yaml:"envs"`
				Literals []string `yaml:"literals"`
			} `yaml:"secretGenerator"`
		}
		readYAML(t, k, &doc)
		dir := filepath.Dir(k)
		for _, g := range doc.SecretGenerator {
			if len(g.Literals) > 0 {
				t.Errorf("%s: secretGenerator %s has literals: secrets never go into git; use a placeholder file", k, g.Name)
			}
			for _, f := range g.Files {
				src := f
				if _, after, ok := strings.Cut(f, "="); ok {
					src = after
				}
				n++
				data, err := os.ReadFile(filepath.Join(dir, src))
				if err != nil {
					t.Errorf("%s: secretGenerator %s: %v", k, g.Name, err)
					continue
				}
				if len(data) != 0 {
					t.Errorf("%s: secretGenerator %s reads %s, which is not empty: placeholders stay empty in git (fill them outside it, see base/secrets/README.md)", k, g.Name, src)
				}
			}
			for _, e := range g.Envs {
				n++
				data, err := os.ReadFile(filepath.Join(dir, e))
				if err != nil {
					t.Errorf("%s: secretGenerator %s: %v", k, g.Name, err)
					continue
				}
				for i, line := range strings.Split(string(data), "\n") {
					line = strings.TrimSpace(line)
					if line == "" || strings.HasPrefix(line, "#") {
						continue
					}
					if _, v, _ := strings.Cut(line, "="); v != "" {
						t.Errorf("%s:%d: a value in git: placeholders stay empty (NAME=)", filepath.Join(dir, e), i+1)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no secretGenerator file found under deploy/kubernetes")
	}
}

// TestManifestsMatchConfig renders every overlay and checks each pod that
// runs 'gatehouse serve' against the gatehouse.yaml of its ConfigMap, read
// with the real loader at the path the pod reads it from.
func TestManifestsMatchConfig(t *testing.T) {
	kc := kubectl(t)
	overlays := overlayDirs(t)
	for _, dir := range overlays {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := render(t, kc, dir)
			r.uid = imageUID(t)
			for _, p := range r.check() {
				t.Error(p)
			}
		})
	}
}
