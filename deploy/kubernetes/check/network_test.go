package check

// The checks of traffic: Services select pods and target their named
// ports, and NetworkPolicies admit only the gateway to the guarded
// services and nobody to gatehouse's admin ports.

import (
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

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
