package check

// The checks of replicas: the replicas each shape wants, the one process
// of the embedded shape (Recreate, on a PersistentVolumeClaim), and one
// PodDisruptionBudget per Deployment.

import (
	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

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
