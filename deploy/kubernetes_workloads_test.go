package deploy_test

// The pods of gatehouse serve: each container named gatehouse, the
// gatehouse.yaml its --config names (read from the ConfigMap mounted there,
// with the real loader), its listeners and containerPorts, and the
// ConfigMap or Secret key behind a file the container sees.

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"

	"github.com/gatehousehq/gatehouse/internal/config"
)

type workload struct {
	deploy    obj
	name      string
	replicas  int
	labels    map[string]any // of the pod template
	pod       map[string]any // the pod spec
	container map[string]any
	cfgPath   string // in the container
	cfg       *config.File
	listeners []listener
}

type listener struct {
	key   string // authserver.listen, ...
	port  int
	admin bool
}

// workloads finds every container named gatehouse, reads the file its
// --config names from the ConfigMap mounted there, and loads it with the
// real loader at that path (relative paths start at its folder, as in the
// pod).
func (r *rendered) workloads() []*workload {
	var out []*workload
	for _, d := range r.all("Deployment") {
		pod := m(d, "spec", "template", "spec")
		for _, c := range list(pod, "containers") {
			c, _ := c.(map[string]any)
			if str(c, "name") != "gatehouse" {
				continue
			}
			w := &workload{deploy: d, name: name(d), labels: m(d, "spec", "template", "metadata", "labels"), pod: pod, container: c, replicas: 1}
			if n, ok := m(d, "spec")["replicas"].(int); ok {
				w.replicas = n
			}
			at := fmt.Sprintf("%s: Deployment %s, container gatehouse", r.dir, w.name)
			var args []string
			for _, a := range list(c, "args") {
				args = append(args, str(a))
			}
			if len(args) != 3 || args[0] != "serve" || args[1] != "--config" || !path.IsAbs(args[2]) {
				r.fail("%s: args %q, want [serve --config /ABSOLUTE/PATH/gatehouse.yaml]", at, args)
				continue
			}
			w.cfgPath = args[2]
			data, err := r.mountedFile(w, w.cfgPath)
			if err != nil {
				r.fail("%s: --config %s: %v", at, w.cfgPath, err)
				continue
			}
			f, err := config.Parse(w.cfgPath, data)
			if err != nil {
				r.fail("%s: the loader refuses its file: %v", at, err)
				continue
			}
			w.cfg = f
			w.listeners = r.listenersOf(at, f)
			out = append(out, w)
		}
	}
	return out
}

// listenersOf returns the listeners of the file, each given explicitly
// and on every address of the pod: the defaults listen on 127.0.0.1,
// which neither the kubelet's probes nor a Service reach.
func (r *rendered) listenersOf(at string, f *config.File) []listener {
	var out []listener
	add := func(key, addr string, admin bool) {
		if addr == "" {
			r.fail("%s: %s is not set: its default listens on 127.0.0.1 only, which the probes and Services cannot reach; write %s: \":PORT\"", at, key, key)
			return
		}
		if addr == "-" {
			return
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			r.fail("%s: %s: %q: %v", at, key, addr, err)
			return
		}
		if host != "" && host != "0.0.0.0" && host != "::" {
			r.fail("%s: %s: %q listens on %s only, which the probes and Services cannot reach; write \":%s\"", at, key, addr, host, port)
		}
		n, err := strconv.Atoi(port)
		if err != nil {
			r.fail("%s: %s: %q: the port is not a number", at, key, addr)
			return
		}
		out = append(out, listener{key: key, port: n, admin: admin})
	}
	if a := f.AuthServer; a != nil {
		add("authserver.listen", a.Listen, false)
		add("authserver.admin_listen", a.AdminListen, true)
	}
	if g := f.Gateway; g != nil {
		add("gateway.listen", g.Listen, false)
		add("gateway.admin_listen", g.AdminListen, true)
	}
	return out
}

func (w *workload) listenerOn(port int) *listener {
	for i := range w.listeners {
		if w.listeners[i].port == port {
			return &w.listeners[i]
		}
	}
	return nil
}

func (w *workload) listenerKey(key string) *listener {
	for i := range w.listeners {
		if w.listeners[i].key == key {
			return &w.listeners[i]
		}
	}
	return nil
}

// containerPort resolves a port of a probe or a Service (a number or the
// name of a containerPort) in container c; 0 when it names none.
func containerPort(c map[string]any, p any) int {
	for _, cp := range list(c, "ports") {
		n, _ := m(cp)["containerPort"].(int)
		if s, ok := p.(string); ok && str(cp, "name") == s {
			return n
		}
		if q, ok := p.(int); ok && q == n {
			return n
		}
	}
	return 0
}

// mountedFile returns the content the container sees at file p: the key
// of the ConfigMap or Secret volume mounted on its folder.
func (r *rendered) mountedFile(w *workload, p string) ([]byte, error) {
	src, key, err := r.volumeKey(w, p)
	if err != nil {
		return nil, err
	}
	v, ok := m(src, "data")[key]
	if !ok {
		return nil, fmt.Errorf("%s %s has no key %s", src["kind"], name(src), key)
	}
	if src["kind"] == "Secret" {
		return nil, fmt.Errorf("is a Secret (%s), read it from a ConfigMap", name(src))
	}
	return []byte(str(v)), nil
}

// volumeKey finds the ConfigMap or Secret that provides file p of the
// container, and its key; an error says what is missing.
func (r *rendered) volumeKey(w *workload, p string) (obj, string, error) {
	var mount map[string]any
	for _, vm := range list(w.container, "volumeMounts") {
		mp := str(vm, "mountPath")
		if strings.HasPrefix(p, strings.TrimSuffix(mp, "/")+"/") && (mount == nil || len(mp) > len(str(mount, "mountPath"))) {
			mount = m(vm)
		}
	}
	if mount == nil {
		return nil, "", errors.New("no volume is mounted on its folder")
	}
	rel := strings.TrimPrefix(p, strings.TrimSuffix(str(mount, "mountPath"), "/")+"/")
	var vol map[string]any
	for _, v := range list(w.pod, "volumes") {
		if str(v, "name") == str(mount, "name") {
			vol = m(v)
		}
	}
	if vol == nil {
		return nil, "", fmt.Errorf("volume %s of its mount %s is not declared", str(mount, "name"), str(mount, "mountPath"))
	}
	var src obj
	var items []any
	switch {
	case m(vol, "configMap") != nil:
		src, items = r.get("ConfigMap", str(vol, "configMap", "name")), list(vol, "configMap", "items")
		if src == nil {
			return nil, "", fmt.Errorf("ConfigMap %s of volume %s is not in the manifests", str(vol, "configMap", "name"), str(vol, "name"))
		}
	case m(vol, "secret") != nil:
		src, items = r.get("Secret", str(vol, "secret", "secretName")), list(vol, "secret", "items")
		if src == nil {
			return nil, "", fmt.Errorf("Secret %s of volume %s is not in the manifests", str(vol, "secret", "secretName"), str(vol, "name"))
		}
	default:
		return nil, "", fmt.Errorf("volume %s mounted at %s is neither a ConfigMap nor a Secret", str(vol, "name"), str(mount, "mountPath"))
	}
	key := rel
	if items != nil {
		key = ""
		for _, it := range items {
			if str(it, "path") == rel {
				key = str(it, "key")
			}
		}
		if key == "" {
			return nil, "", fmt.Errorf("volume %s (%s %s) lists no item with path %s", str(vol, "name"), src["kind"], name(src), rel)
		}
	}
	if _, ok := m(src, "data")[key]; !ok {
		return nil, "", fmt.Errorf("%s %s (volume %s) has no key %s", src["kind"], name(src), str(vol, "name"), key)
	}
	return src, key, nil
}
