package check

// Decoding a rendering: each document strictly into the k8s.io/api type of
// its kind, and the fields the typed object does not encode again
// (misspelt, or in the wrong case).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

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
