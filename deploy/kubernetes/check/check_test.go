// Package check checks the rendered Kubernetes manifests of
// deploy/kubernetes: every object of every overlay is decoded strictly
// into the k8s.io/api type of its kind (a misspelt or misplaced field
// fails), and the policies of the manifests are asserted on the typed
// objects. It is a module of its own so that gatehouse's module carries no
// Kubernetes dependency; the checks against gatehouse.yaml (ports,
// secrets, listeners) are in the main module's deploy/kubernetes_test.go.
package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
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

// decode splits the rendering into its documents and decodes each
// strictly (unknown or duplicate fields fail) into the type of its kind.
func decode(report reporter, overlay string, out []byte) *objects {
	o := &objects{overlay: overlay}
	for i, doc := range splitDocuments(out) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			report("document %d: %v", i, err)
			continue
		}
		var dst any
		switch head.APIVersion + " " + head.Kind {
		case "v1 Namespace":
			o.namespaces = append(o.namespaces, corev1.Namespace{})
			dst = &o.namespaces[len(o.namespaces)-1]
		case "v1 ConfigMap":
			o.configs = append(o.configs, corev1.ConfigMap{})
			dst = &o.configs[len(o.configs)-1]
		case "v1 Secret":
			o.secrets = append(o.secrets, corev1.Secret{})
			dst = &o.secrets[len(o.secrets)-1]
		case "v1 Service":
			o.services = append(o.services, corev1.Service{})
			dst = &o.services[len(o.services)-1]
		case "v1 PersistentVolumeClaim":
			o.pvcs = append(o.pvcs, corev1.PersistentVolumeClaim{})
			dst = &o.pvcs[len(o.pvcs)-1]
		case "apps/v1 Deployment":
			o.deploys = append(o.deploys, appsv1.Deployment{})
			dst = &o.deploys[len(o.deploys)-1]
		case "policy/v1 PodDisruptionBudget":
			o.pdbs = append(o.pdbs, policyv1.PodDisruptionBudget{})
			dst = &o.pdbs[len(o.pdbs)-1]
		case "networking.k8s.io/v1 NetworkPolicy":
			o.policies = append(o.policies, networkingv1.NetworkPolicy{})
			dst = &o.policies[len(o.policies)-1]
		default:
			report("document %d: %s %s: no check knows this kind; add it to decode", i, head.APIVersion, head.Kind)
			continue
		}
		if err := yaml.UnmarshalStrict(doc, dst); err != nil {
			report("%s %s (document %d): %v", head.Kind, nameOf(doc), i, err)
			continue
		}
		// encoding/json, under UnmarshalStrict, matches field names
		// without regard to case, and the API server does not: every
		// field of the document must come back, spelt the same, when the
		// typed object is encoded again.
		for _, f := range lostFields(doc, dst) {
			report("%s %s (document %d): %s: not a field of the API type (misspelt, or in the wrong case)", head.Kind, nameOf(doc), i, f)
		}
	}
	if len(o.deploys) == 0 {
		report("the overlay renders no Deployment")
	}
	return o
}

// lostFields returns the paths of the fields of doc that the typed object
// typed does not encode again. Fields with empty values (null, [], {},
// "", 0, false) may be dropped by omitempty and are not reported.
func lostFields(doc []byte, typed any) []string {
	var in, out any
	if err := yaml.Unmarshal(doc, &in); err != nil {
		return []string{err.Error()}
	}
	again, err := json.Marshal(typed)
	if err != nil {
		return []string{err.Error()}
	}
	if err := json.Unmarshal(again, &out); err != nil {
		return []string{err.Error()}
	}
	var lost []string
	var walk func(path string, in, out any)
	walk = func(path string, in, out any) {
		switch iv := in.(type) {
		case map[string]any:
			om, _ := out.(map[string]any)
			for _, k := range slices.Sorted(maps.Keys(iv)) {
				p := k
				if path != "" {
					p = path + "." + k
				}
				ov, ok := om[k]
				if !ok {
					if !empty(iv[k]) {
						lost = append(lost, p)
					}
					continue
				}
				walk(p, iv[k], ov)
			}
		case []any:
			ol, _ := out.([]any)
			for i, v := range iv {
				if i < len(ol) {
					walk(fmt.Sprintf("%s[%d]", path, i), v, ol[i])
				}
			}
		}
	}
	walk("", in, out)
	return lost
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	}
	return false
}

// splitDocuments splits a YAML stream at its "---" lines.
func splitDocuments(out []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), out...), []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func nameOf(doc []byte) string {
	var meta struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	yaml.Unmarshal(doc, &meta)
	return meta.Metadata.Name
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

// checkPods: every container non-root on a read-only root file system,
// without privileges or capabilities, under seccomp; resources requested
// and bounded; probes on /healthz and /readyz (gatehouse: on its admin
// listener); no service account token, no host namespaces or paths.
func (o *objects) checkPods(report reporter) {
	for _, d := range o.deploys {
		at := "Deployment " + d.Name
		pod := d.Spec.Template.Spec
		psc := pod.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
			report("%s: automountServiceAccountToken is not false: nothing here talks to the Kubernetes API", at)
		}
		if pod.HostNetwork || pod.HostPID || pod.HostIPC {
			report("%s: uses a host namespace", at)
		}
		for _, v := range pod.Volumes {
			if v.HostPath != nil {
				report("%s: volume %s is a hostPath", at, v.Name)
			}
		}
		if len(pod.InitContainers) > 0 {
			report("%s: init containers are not checked here: add them to checkPods", at)
		}
		for _, c := range pod.Containers {
			at := fmt.Sprintf("%s, container %s", at, c.Name)
			sc := c.SecurityContext
			if sc == nil {
				report("%s: no securityContext", at)
				continue
			}
			if !orPod(sc.RunAsNonRoot, psc.RunAsNonRoot) {
				report("%s: runAsNonRoot is not true", at)
			}
			uid := psc.RunAsUser
			if sc.RunAsUser != nil {
				uid = sc.RunAsUser
			}
			if uid == nil || *uid == 0 {
				report("%s: runAsUser is not a non-root number", at)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				report("%s: readOnlyRootFilesystem is not true", at)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				report("%s: allowPrivilegeEscalation is not false", at)
			}
			if sc.Privileged != nil && *sc.Privileged {
				report("%s: privileged", at)
			}
			if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
				report("%s: capabilities %+v, want drop [ALL] and no add", at, sc.Capabilities)
			}
			seccomp := psc.SeccompProfile
			if sc.SeccompProfile != nil {
				seccomp = sc.SeccompProfile
			}
			if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				report("%s: seccompProfile is not RuntimeDefault", at)
			}
			checkResources(report, at, c.Resources)
			if img := c.Image; !strings.Contains(img[strings.LastIndex(img, "/")+1:], ":") || strings.HasSuffix(img, ":latest") {
				report("%s: image %q has no fixed tag", at, img)
			}
			for _, v := range c.VolumeMounts {
				if v.MountPath == "/var/lib/gatehouse" && v.ReadOnly {
					report("%s: the data folder is mounted read-only", at)
				}
			}
			checkProbes(report, at, c)
		}
	}
}

func orPod(container, pod *bool) bool {
	if container != nil {
		return *container
	}
	return pod != nil && *pod
}

func checkResources(report reporter, at string, r corev1.ResourceRequirements) {
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := r.Requests[name]
		lim, okLim := r.Limits[name]
		switch {
		case !okReq || req.IsZero():
			report("%s: no %s request", at, name)
		case !okLim || lim.IsZero():
			report("%s: no %s limit", at, name)
		case req.Cmp(lim) > 0:
			report("%s: %s request %s above its limit %s", at, name, req.String(), lim.String())
		}
	}
}

// checkProbes: liveness on /healthz, readiness on /readyz, startup on
// either, each on a port of the container; gatehouse serves them on its
// admin listeners only (ports named *-admin).
func checkProbes(report reporter, at string, c corev1.Container) {
	probes := []struct {
		kind  string
		p     *corev1.Probe
		paths []string
	}{
		{"livenessProbe", c.LivenessProbe, []string{"/healthz"}},
		{"readinessProbe", c.ReadinessProbe, []string{"/readyz"}},
		{"startupProbe", c.StartupProbe, []string{"/healthz", "/readyz"}},
	}
	for _, pr := range probes {
		if pr.p == nil {
			if pr.kind != "startupProbe" {
				report("%s: no %s", at, pr.kind)
			}
			continue
		}
		get := pr.p.HTTPGet
		if get == nil {
			report("%s: %s is not an httpGet", at, pr.kind)
			continue
		}
		if !slices.Contains(pr.paths, get.Path) {
			report("%s: %s path %q, want %s", at, pr.kind, get.Path, strings.Join(pr.paths, " or "))
		}
		port, ok := portOf(c, get.Port)
		if !ok {
			report("%s: %s port %s is no containerPort", at, pr.kind, get.Port.String())
			continue
		}
		if c.Name == "gatehouse" && !strings.HasSuffix(port.Name, "-admin") {
			report("%s: %s on port %s (%d): gatehouse serves /healthz and /readyz on its admin listener (a port named *-admin)", at, pr.kind, port.Name, port.ContainerPort)
		}
		if pr.p.TimeoutSeconds < 1 || pr.p.PeriodSeconds < 1 {
			report("%s: %s without timeoutSeconds and periodSeconds", at, pr.kind)
		}
	}
	if c.Name == "gatehouse" && c.ReadinessProbe != nil && c.ReadinessProbe.TimeoutSeconds < 3 {
		// /readyz of the auth server waits up to 2 s for the store.
		for _, p := range c.Ports {
			if p.Name == "auth-admin" && c.ReadinessProbe.HTTPGet.Port.String() == p.Name {
				report("%s: readinessProbe timeout %ds: the auth server's /readyz takes up to 2 s, give it 3", at, c.ReadinessProbe.TimeoutSeconds)
			}
		}
	}
}

// portOf resolves a port (number or name) to a containerPort of c.
func portOf(c corev1.Container, p intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

func (o *objects) checkReplicas(report reporter) {
	shape := shapes[o.overlay]
	for name, want := range shape.replicas {
		d := o.deploy(name)
		if d == nil {
			report("no Deployment %s", name)
			continue
		}
		got := int32(1)
		if d.Spec.Replicas != nil {
			got = *d.Spec.Replicas
		}
		if (shape.exact && got != want) || got < want {
			report("Deployment %s: %d replicas, want %s%d", name, got, map[bool]string{true: "", false: "at least "}[shape.exact], want)
		}
	}
	gatehouse := 0
	for _, d := range o.deploys {
		if runsGatehouse(&d) {
			gatehouse++
			if _, ok := shape.replicas[d.Name]; !ok {
				report("Deployment %s runs gatehouse but the %s shape has none of that name", d.Name, o.overlay)
			}
		}
	}
	if shape.onePVC {
		if gatehouse != 1 {
			report("%d Deployments run gatehouse, want the one process", gatehouse)
		}
		for _, d := range o.deploys {
			if !runsGatehouse(&d) {
				continue
			}
			if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				report("Deployment %s: strategy %q, want Recreate: one process on one volume, never two", d.Name, d.Spec.Strategy.Type)
			}
			claimed := false
			for _, v := range d.Spec.Template.Spec.Volumes {
				if v.PersistentVolumeClaim != nil && o.pvc(v.PersistentVolumeClaim.ClaimName) != nil {
					claimed = true
				}
			}
			if !claimed {
				report("Deployment %s mounts no PersistentVolumeClaim of the manifests", d.Name)
			}
		}
	} else if len(o.pvcs) > 0 {
		report("the %s shape has PersistentVolumeClaims %v: its gatehouse pods keep no state", o.overlay, o.pvcs)
	}
}

// checkDisruptionBudgets: one PDB per Deployment, which keeps a pod of a
// Deployment with more than one.
func (o *objects) checkDisruptionBudgets(report reporter) {
	for _, d := range o.deploys {
		var mine []policyv1.PodDisruptionBudget
		for _, p := range o.pdbs {
			if p.Spec.Selector != nil && matches(p.Spec.Selector.MatchLabels, d.Spec.Template.Labels) && len(p.Spec.Selector.MatchExpressions) == 0 {
				mine = append(mine, p)
			}
		}
		if len(mine) != 1 {
			report("Deployment %s: %d PodDisruptionBudgets select its pods, want 1", d.Name, len(mine))
			continue
		}
		p := mine[0].Spec
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		switch {
		case p.MaxUnavailable != nil && p.MinAvailable != nil:
			report("PodDisruptionBudget %s: both minAvailable and maxUnavailable", mine[0].Name)
		case p.MaxUnavailable != nil:
			if p.MaxUnavailable.Type != intstr.Int || p.MaxUnavailable.IntVal < 1 || (replicas > 1 && p.MaxUnavailable.IntVal >= replicas) {
				report("PodDisruptionBudget %s: maxUnavailable %s for %d replicas: want 1 to %d", mine[0].Name, p.MaxUnavailable.String(), replicas, max(1, replicas-1))
			}
		case p.MinAvailable != nil:
			if replicas > 1 && (p.MinAvailable.Type != intstr.Int || p.MinAvailable.IntVal < 1 || p.MinAvailable.IntVal >= replicas) {
				report("PodDisruptionBudget %s: minAvailable %s for %d replicas: want 1 to %d", mine[0].Name, p.MinAvailable.String(), replicas, replicas-1)
			}
		default:
			report("PodDisruptionBudget %s: neither minAvailable nor maxUnavailable", mine[0].Name)
		}
	}
}

// checkServices: each selects pods of a Deployment and targets their
// named ports.
func (o *objects) checkServices(report reporter) {
	for _, s := range o.services {
		var pods []appsv1.Deployment
		for _, d := range o.deploys {
			if len(s.Spec.Selector) > 0 && matches(s.Spec.Selector, d.Spec.Template.Labels) {
				pods = append(pods, d)
			}
		}
		if len(pods) == 0 {
			report("Service %s selects no Deployment's pods", s.Name)
			continue
		}
		for _, sp := range s.Spec.Ports {
			if sp.TargetPort.Type != intstr.String {
				report("Service %s port %s: targetPort %s, want a port name", s.Name, sp.Name, sp.TargetPort.String())
				continue
			}
			for _, d := range pods {
				found := false
				for _, c := range d.Spec.Template.Spec.Containers {
					if _, ok := portOf(c, sp.TargetPort); ok {
						found = true
					}
				}
				if !found {
					report("Service %s port %s: the pods of Deployment %s have no port %s", s.Name, sp.Name, d.Name, sp.TargetPort.StrVal)
				}
			}
		}
	}
}

// checkNetworkPolicies: every guarded service (label
// app.kubernetes.io/component: service) admits the gateway's pods only, on
// its http port; gatehouse's admin ports admit nobody.
func (o *objects) checkNetworkPolicies(report reporter) {
	for _, d := range o.deploys {
		labels := d.Spec.Template.Labels
		var selecting []networkingv1.NetworkPolicy
		for _, p := range o.policies {
			if len(p.Spec.PodSelector.MatchExpressions) > 0 {
				report("NetworkPolicy %s: matchExpressions are not checked here", p.Name)
			}
			if matches(p.Spec.PodSelector.MatchLabels, labels) {
				selecting = append(selecting, p)
			}
		}
		switch {
		case labels["app.kubernetes.io/component"] == "service":
			o.checkServicePolicies(report, d, selecting)
		case runsGatehouse(&d):
			o.checkAdminPrivate(report, d, selecting)
		}
	}
}

func (o *objects) checkServicePolicies(report reporter, d appsv1.Deployment, selecting []networkingv1.NetworkPolicy) {
	at := "Deployment " + d.Name
	if len(selecting) == 0 {
		report("%s: no NetworkPolicy selects its pods: anyone in the cluster reaches the service past the gateway", at)
		return
	}
	for _, p := range selecting {
		if !slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
			report("NetworkPolicy %s selects %s but does not restrict Ingress", p.Name, d.Name)
		}
		for i, rule := range p.Spec.Ingress {
			rat := fmt.Sprintf("NetworkPolicy %s, ingress[%d] (selects %s)", p.Name, i, d.Name)
			if len(rule.From) == 0 {
				report("%s: admits every source", rat)
			}
			for _, peer := range rule.From {
				if peer.IPBlock != nil || peer.NamespaceSelector != nil || peer.PodSelector == nil {
					report("%s: admits a source that is not pods of this namespace (ipBlock or namespaceSelector)", rat)
					continue
				}
				if len(peer.PodSelector.MatchExpressions) > 0 || len(peer.PodSelector.MatchLabels) == 0 {
					report("%s: a podSelector without matchLabels (or with matchExpressions, not checked here)", rat)
					continue
				}
				admitted := 0
				for _, src := range o.deploys {
					if !matches(peer.PodSelector.MatchLabels, src.Spec.Template.Labels) {
						continue
					}
					admitted++
					if src.Spec.Template.Labels["app.kubernetes.io/component"] != "gateway" || !runsGatehouse(&src) {
						report("%s: admits the pods of Deployment %s, which is not the gateway", rat, src.Name)
					}
				}
				if admitted == 0 {
					report("%s: its podSelector %v matches no gateway pod", rat, peer.PodSelector.MatchLabels)
				}
			}
			if len(rule.Ports) == 0 {
				report("%s: admits every port, want the http port only", rat)
			}
			for _, port := range rule.Ports {
				if port.Port == nil || port.Port.String() != "http" {
					report("%s: port %v, want http", rat, port.Port)
				}
			}
		}
	}
}

// checkAdminPrivate: no policy that selects a gatehouse pod admits its
// admin ports (the kubelet's probes come from the node, which a policy
// does not stop), and at least one selects it.
func (o *objects) checkAdminPrivate(report reporter, d appsv1.Deployment, selecting []networkingv1.NetworkPolicy) {
	if len(selecting) == 0 {
		report("Deployment %s: no NetworkPolicy selects its pods: its admin listeners are open to the cluster", d.Name)
		return
	}
	var admin []corev1.ContainerPort
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			if strings.HasSuffix(p.Name, "-admin") {
				admin = append(admin, p)
			}
		}
	}
	for _, p := range selecting {
		for i, rule := range p.Spec.Ingress {
			if len(rule.Ports) == 0 {
				report("NetworkPolicy %s, ingress[%d]: admits every port of Deployment %s, the admin listeners too", p.Name, i, d.Name)
			}
			for _, port := range rule.Ports {
				for _, a := range admin {
					if port.Port != nil && (port.Port.String() == a.Name || (port.Port.Type == intstr.Int && port.Port.IntVal == a.ContainerPort)) {
						report("NetworkPolicy %s, ingress[%d]: admits the admin port %s of Deployment %s", p.Name, i, a.Name, d.Name)
					}
				}
			}
		}
	}
}

// checkNamespace: the overlay's namespace enforces the restricted Pod
// Security Standard, which the pods above meet.
func (o *objects) checkNamespace(report reporter) {
	if len(o.namespaces) != 1 {
		report("%d Namespaces, want 1", len(o.namespaces))
		return
	}
	ns := o.namespaces[0]
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		report("Namespace %s: pod-security.kubernetes.io/enforce is %q, want restricted", ns.Name, ns.Labels["pod-security.kubernetes.io/enforce"])
	}
	for _, d := range o.deploys {
		if d.Namespace != ns.Name {
			report("Deployment %s is in namespace %q, not %s", d.Name, d.Namespace, ns.Name)
		}
	}
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
