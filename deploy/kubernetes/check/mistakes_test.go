package check

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// collect returns a reporter that keeps the problems.
func collect(problems *[]string) reporter {
	return func(format string, args ...any) { *problems = append(*problems, fmt.Sprintf(format, args...)) }
}

func wantProblem(t *testing.T, problems []string, want string) {
	t.Helper()
	for _, p := range problems {
		if strings.Contains(p, want) {
			return
		}
	}
	t.Errorf("no problem says %q; got %q", want, problems)
}

// TestStrictDecoding: a misspelt or misplaced field fails, as the API
// server would refuse it (or, worse, drop it).
func TestStrictDecoding(t *testing.T) {
	out := render(t, filepath.Join(overlaysDir, "scale-out"))
	for _, tc := range []struct{ old, new, want string }{
		{"readinessProbe:", "readinesProbe:", `unknown field "readinesProbe"`},
		// encoding/json matches names without regard to case; the API
		// server does not.
		{"readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true", "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem: not a field of the API type"},
		{"  maxUnavailable: 1", "  maxunavailable: 1", "spec.maxunavailable: not a field of the API type"},
		{"replicas: 2", "replicas: two", "replicas"},
	} {
		if !bytes.Contains(out, []byte(tc.old)) {
			t.Fatalf("the rendering has no %q", tc.old)
		}
		var problems []string
		decode(collect(&problems), "scale-out", bytes.Replace(out, []byte(tc.old), []byte(tc.new), 1))
		wantProblem(t, problems, tc.want)
	}
}

// TestChecksCatchMistakes: each policy refuses the mistake it is there
// for, made in a copy of a rendered overlay.
func TestChecksCatchMistakes(t *testing.T) {
	rendered := map[string][]byte{}
	for _, o := range []string{"scale-out", "embedded"} {
		rendered[o] = render(t, filepath.Join(overlaysDir, o))
		var problems []string
		decode(collect(&problems), o, rendered[o]).check(collect(&problems))
		if len(problems) > 0 {
			t.Fatalf("overlay %s is not clean: %q", o, problems)
		}
	}
	gatehouse := func(o *objects, name string) *corev1.Container {
		return &o.deploy(name).Spec.Template.Spec.Containers[0]
	}
	no := false
	yes := true
	cases := []struct {
		name, overlay string
		mutate        func(o *objects)
		want          string
	}{
		{"root file system writable", "scale-out", func(o *objects) {
			gatehouse(o, "gatehouse-auth").SecurityContext.ReadOnlyRootFilesystem = &no
		}, "Deployment gatehouse-auth, container gatehouse: readOnlyRootFilesystem is not true"},
		{"runs as root", "scale-out", func(o *objects) {
			o.deploy("orders").Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil
			gatehouse(o, "orders").SecurityContext.RunAsNonRoot = nil
		}, "Deployment orders, container orders: runAsNonRoot is not true"},
		{"a capability kept", "scale-out", func(o *objects) {
			gatehouse(o, "gatehouse-gateway").SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}, "want drop [ALL] and no add"},
		{"privilege escalation", "scale-out", func(o *objects) {
			gatehouse(o, "gatehouse-gateway").SecurityContext.AllowPrivilegeEscalation = &yes
		}, "allowPrivilegeEscalation is not false"},
		{"no seccomp", "scale-out", func(o *objects) {
			gatehouse(o, "gatehouse-gateway").SecurityContext.SeccompProfile = nil
			o.deploy("gatehouse-gateway").Spec.Template.Spec.SecurityContext.SeccompProfile = nil
		}, "seccompProfile is not RuntimeDefault"},
		{"no memory limit", "scale-out", func(o *objects) {
			delete(gatehouse(o, "gatehouse-auth").Resources.Limits, corev1.ResourceMemory)
		}, "no memory limit"},
		{"readiness on the proxy port", "scale-out", func(o *objects) {
			gatehouse(o, "gatehouse-gateway").ReadinessProbe.HTTPGet.Port = intstr.FromString("gateway")
		}, "readinessProbe on port gateway (8080)"},
		{"liveness on /readyz", "scale-out", func(o *objects) {
			gatehouse(o, "gatehouse-auth").LivenessProbe.HTTPGet.Path = "/readyz"
		}, `livenessProbe path "/readyz", want /healthz`},
		{"a service account token", "scale-out", func(o *objects) {
			o.deploy("orders").Spec.Template.Spec.AutomountServiceAccountToken = nil
		}, "Deployment orders: automountServiceAccountToken is not false"},
		{"one auth server", "scale-out", func(o *objects) {
			one := int32(1)
			o.deploy("gatehouse-auth").Spec.Replicas = &one
		}, "Deployment gatehouse-auth: 1 replicas, want at least 2"},
		{"two embedded processes", "embedded", func(o *objects) {
			two := int32(2)
			o.deploy("gatehouse").Spec.Replicas = &two
		}, "Deployment gatehouse: 2 replicas, want 1"},
		{"rolling update of the one process", "embedded", func(o *objects) {
			o.deploy("gatehouse").Spec.Strategy.Type = appsv1.RollingUpdateDeploymentStrategyType
		}, `strategy "RollingUpdate", want Recreate`},
		{"no PDB", "scale-out", func(o *objects) {
			o.pdbs = o.pdbs[1:]
		}, "0 PodDisruptionBudgets select its pods, want 1"},
		{"a PDB that blocks every eviction", "scale-out", func(o *objects) {
			two := intstr.FromInt32(2)
			o.pdbs[0].Spec.MaxUnavailable = &two
		}, "maxUnavailable 2 for 2 replicas"},
		{"service open to every pod", "scale-out", func(o *objects) {
			p := o.policy("services-from-gateway")
			p.Spec.Ingress[0].From = nil
		}, "NetworkPolicy services-from-gateway, ingress[0] (selects orders): admits every source"},
		{"service open to another namespace", "scale-out", func(o *objects) {
			p := o.policy("services-from-gateway")
			p.Spec.Ingress[0].From[0].NamespaceSelector = &metav1.LabelSelector{}
		}, "admits a source that is not pods of this namespace"},
		{"service open to the auth servers", "scale-out", func(o *objects) {
			p := o.policy("services-from-gateway")
			p.Spec.Ingress[0].From[0].PodSelector.MatchLabels = map[string]string{"app.kubernetes.io/name": "gatehouse"}
		}, "admits the pods of Deployment gatehouse-auth, which is not the gateway"},
		{"service without a policy", "scale-out", func(o *objects) {
			o.policy("services-from-gateway").Spec.PodSelector.MatchLabels = map[string]string{"app.kubernetes.io/component": "other"}
		}, "Deployment orders: no NetworkPolicy selects its pods"},
		{"admin port open", "scale-out", func(o *objects) {
			p := o.policy("gatehouse")
			port := intstr.FromString("auth-admin")
			p.Spec.Ingress[0].Ports = append(p.Spec.Ingress[0].Ports, networkingv1.NetworkPolicyPort{Port: &port})
		}, "admits the admin port auth-admin of Deployment gatehouse-auth"},
		{"Service to a missing port", "scale-out", func(o *objects) {
			o.services[0].Spec.Ports[0].TargetPort = intstr.FromString("nope")
		}, "have no port nope"},
		{"namespace without restricted", "embedded", func(o *objects) {
			delete(o.namespaces[0].Labels, "pod-security.kubernetes.io/enforce")
		}, "want restricted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var problems []string
			o := decode(collect(&problems), tc.overlay, rendered[tc.overlay])
			tc.mutate(o)
			o.check(collect(&problems))
			wantProblem(t, problems, tc.want)
		})
	}
}

func (o *objects) policy(name string) *networkingv1.NetworkPolicy {
	for i := range o.policies {
		if o.policies[i].Name == name {
			return &o.policies[i]
		}
	}
	panic("no NetworkPolicy " + name)
}
