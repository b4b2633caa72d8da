// Package check checks the rendered Kubernetes manifests of
// deploy/kubernetes: every object of every overlay is decoded strictly
// into the k8s.io/api type of its kind (a misspelt or misplaced field
// fails), and the policies of the manifests are asserted on the typed
// objects. It is a module of its own so that gatehouse's module carries no
// Kubernetes dependency; the checks against gatehouse.yaml (ports,
// secrets, listeners) are in the main module's deploy/kubernetes_test.go.
package check

// This file holds TestOverlays, the shapes each overlay must render, and
// the lookups on the decoded objects. decode_test.go decodes a rendering
// into the API types; the policies are checked in pods_test.go,
// replicas_test.go and network_test.go.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

const overlaysDir = "../overlays"

// shapes are the overlays and what each must render: the replicas of each
// Deployment, at least (scale-out) or exactly (embedded).
var shapes = map[string]struct {
	replicas map[string]int32
	exact    bool
	// onePVC: the one process keeps its store on a PersistentVolumeClaim.
	onePVC bool
}{
	"scale-out": {replicas: map[string]int32{"gatehouse-auth": 2, "gatehouse-gateway": 2, "orders": 2}},
	"embedded":  {replicas: map[string]int32{"gatehouse": 1, "orders": 2}, exact: true, onePVC: true},
}

// reporter reports a problem (t.Errorf).
type reporter func(format string, args ...any)

// check runs every check of the overlay.
func (o *objects) check(report reporter) {
	o.checkPods(report)
	o.checkReplicas(report)
	o.checkDisruptionBudgets(report)
	o.checkServices(report)
	o.checkNetworkPolicies(report)
	o.checkNamespace(report)
}

// objects is one overlay, decoded.
type objects struct {
	overlay    string
	namespaces []corev1.Namespace
	deploys    []appsv1.Deployment
	services   []corev1.Service
	pdbs       []policyv1.PodDisruptionBudget
	policies   []networkingv1.NetworkPolicy
	configs    []corev1.ConfigMap
	secrets    []corev1.Secret
	pvcs       []corev1.PersistentVolumeClaim
}

func TestOverlays(t *testing.T) {
	entries, err := os.ReadDir(overlaysDir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		seen[e.Name()] = true
		t.Run(e.Name(), func(t *testing.T) {
			if _, ok := shapes[e.Name()]; !ok {
				t.Fatalf("overlay %s has no expectations here: add it to shapes", e.Name())
			}
			o := decode(t.Errorf, e.Name(), render(t, filepath.Join(overlaysDir, e.Name())))
			o.check(t.Errorf)
		})
	}
	for name := range shapes {
		if !seen[name] {
			t.Errorf("overlay %s is missing from %s", name, overlaysDir)
		}
	}
}

func render(t *testing.T, dir string) []byte {
	t.Helper()
	kc, err := exec.LookPath("kubectl")
	if err != nil {
		msg := "kubectl is not installed: it renders the overlays (kubectl kustomize)"
		if os.Getenv("GATEHOUSE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg + " and GATEHOUSE_TEST_REQUIRE_SERVICES=1")
		}
		t.Skip(msg)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(kc, "kustomize", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	return stdout.Bytes()
}

// runsGatehouse: the pod runs 'gatehouse serve' (its container gatehouse).
func runsGatehouse(d *appsv1.Deployment) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "gatehouse" {
			return true
		}
	}
	return false
}

func (o *objects) deploy(name string) *appsv1.Deployment {
	for i := range o.deploys {
		if o.deploys[i].Name == name {
			return &o.deploys[i]
		}
	}
	return nil
}

func (o *objects) pvc(name string) *corev1.PersistentVolumeClaim {
	for i := range o.pvcs {
		if o.pvcs[i].Name == name {
			return &o.pvcs[i]
		}
	}
	return nil
}

// matches: every label of selector is on labels, and selector is not
// empty.
func matches(selector, labels map[string]string) bool {
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
