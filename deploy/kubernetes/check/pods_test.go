package check

// The checks of the pods: the security context, resources, image tag,
// mounts and probes of every container (checkPods), and the Pod Security
// Standard their namespace enforces (checkNamespace).

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

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
