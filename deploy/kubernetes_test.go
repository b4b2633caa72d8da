package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gatehousehq/gatehouse/internal/config"
)

// The manifests are checked here against the configuration loader: the
// Kubernetes objects are read as plain YAML (this module links no
// Kubernetes package; deploy/kubernetes/check decodes them into the API
// types).

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

// --- rendering ------------------------------------------------------------

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

// --- the pods of gatehouse serve -------------------------------------------

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

// --- the checks --------------------------------------------------------------

func (r *rendered) checkWorkload(w *workload) {
	at := fmt.Sprintf("%s: Deployment %s (config %s)", r.dir, w.name, w.cfgPath)
	c := w.container

	// The image's user, so that it owns the data volume (fsGroup) and
	// runAsNonRoot can check it.
	uid, _ := m(w.pod, "securityContext")["runAsUser"].(int)
	if n, ok := m(c, "securityContext")["runAsUser"].(int); ok {
		uid = n
	}
	if uid != r.uid {
		r.fail("%s: runAsUser %d, want the image's USER %d", at, uid, r.uid)
	}
	if g, _ := m(w.pod, "securityContext")["fsGroup"].(int); g != r.uid {
		r.fail("%s: fsGroup %d, want %d: the mounted Secrets and the data volume must be readable by the image's user", at, g, r.uid)
	}

	// Every containerPort is a listener of the file, and every listener
	// has its containerPort.
	for _, cp := range list(c, "ports") {
		n, _ := m(cp)["containerPort"].(int)
		if w.listenerOn(n) == nil {
			r.fail("%s: containerPort %s (%d) is no listener of the file (listen/admin_listen)", at, str(cp, "name"), n)
		}
	}
	for _, l := range w.listeners {
		if containerPort(c, l.port) == 0 {
			r.fail("%s: %s (port %d) has no containerPort", at, l.key, l.port)
		}
	}

	// Probes: /healthz (liveness) and /readyz (readiness) on an admin
	// listener, the only one that serves them.
	for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		p := m(c, probe)
		if p == nil {
			if probe != "startupProbe" {
				r.fail("%s: no %s", at, probe)
			}
			continue
		}
		get := m(p, "httpGet")
		if get == nil {
			r.fail("%s: %s is not an httpGet", at, probe)
			continue
		}
		port := containerPort(c, get["port"])
		l := w.listenerOn(port)
		switch {
		case port == 0:
			r.fail("%s: %s port %v names no containerPort", at, probe, get["port"])
		case l == nil || !l.admin:
			r.fail("%s: %s on port %d, which is not an admin_listen of the file: only the admin listener serves /healthz and /readyz", at, probe, port)
		}
		want := map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"}[probe]
		p2 := str(get, "path")
		if want != "" && p2 != want {
			r.fail("%s: %s path %q, want %s", at, probe, p2, want)
		}
		if want == "" && p2 != "/healthz" && p2 != "/readyz" {
			r.fail("%s: %s path %q, want /healthz or /readyz", at, probe, p2)
		}
	}

	// Services that select the pod reach listeners of the file.
	selected := 0
	for _, svc := range r.all("Service") {
		if !selects(m(svc, "spec", "selector"), w.labels) {
			continue
		}
		selected++
		for _, sp := range list(svc, "spec", "ports") {
			tp := m(sp)["targetPort"]
			if tp == nil {
				tp = m(sp)["port"]
			}
			port := containerPort(c, tp)
			if port == 0 {
				r.fail("%s: Service %s port %s: targetPort %v names no containerPort", at, name(svc), str(sp, "name"), tp)
			} else if w.listenerOn(port) == nil {
				r.fail("%s: Service %s port %s: targetPort %v (%d) is no listener of the file", at, name(svc), str(sp, "name"), tp, port)
			}
		}
	}
	if selected == 0 {
		r.fail("%s: no Service selects its pods", at)
	}

	// Files the file names are mounted, from a Secret or ConfigMap that has
	// them; variables it names are set.
	for _, ref := range fileRefs(w.cfg) {
		if _, _, err := r.volumeKey(w, ref.path); err != nil {
			r.fail("%s: %s: %s: %v", at, ref.key, ref.path, err)
		}
	}
	for _, ref := range envRefs(w.cfg) {
		if err := r.envSet(c, ref.path); err != nil {
			r.fail("%s: %s names the variable %s: %v", at, ref.key, ref.path, err)
		}
	}

	// State that lives in the process or on one volume allows one replica
	// only, and an update that never runs two.
	a, g := w.cfg.AuthServer, w.cfg.Gateway
	strategy := str(w.deploy, "spec", "strategy", "type")
	var single []string
	if a != nil && a.Store == "" {
		single = append(single, "the SQLite store (authserver.data)")
		r.checkDataVolume(at, w, a.Data)
	}
	if a != nil && a.Redis == "" && a.RedisEnv == "" {
		single = append(single, "the auth server's deny list in memory (no authserver.redis)")
	}
	if g != nil && g.RateLimit.Backend != "redis" {
		single = append(single, "the gateway's rate limits and deny list in memory (ratelimit.backend is not redis)")
	}
	if len(single) > 0 {
		if w.replicas != 1 {
			r.fail("%s: %d replicas, but %s: a second process would not share it; run 1", at, w.replicas, strings.Join(single, ", "))
		}
		if strategy != "Recreate" {
			r.fail("%s: strategy %q, but %s: use Recreate, so that an update never runs two processes", at, strategy, strings.Join(single, ", "))
		}
	}

	// The URLs the gateway forwards to and takes keys from reach a
	// Service port that leads to a listener (or a listener of this pod).
	if g != nil {
		for _, rt := range g.Routes {
			for _, u := range rt.Upstreams {
				r.checkURL(at, w, "gateway.routes["+rt.Name+"].upstreams", u, "")
			}
		}
		for _, is := range g.Issuers {
			if is.JWKSURL != "" {
				r.checkURL(at, w, "gateway.issuers["+is.Name+"].jwks_url", is.JWKSURL, "authserver.listen")
			}
		}
	}
}

// checkDataVolume: the SQLite folder is a writable PersistentVolumeClaim
// of the manifests.
func (r *rendered) checkDataVolume(at string, w *workload, data string) {
	for _, vm := range list(w.container, "volumeMounts") {
		if path.Clean(str(vm, "mountPath")) != path.Clean(data) {
			continue
		}
		if ro, _ := m(vm)["readOnly"].(bool); ro {
			r.fail("%s: authserver.data %s is mounted read-only", at, data)
		}
		for _, v := range list(w.pod, "volumes") {
			if str(v, "name") != str(vm, "name") {
				continue
			}
			claim := str(v, "persistentVolumeClaim", "claimName")
			if claim == "" {
				r.fail("%s: authserver.data %s is volume %s, not a PersistentVolumeClaim: the store would not survive the pod", at, data, str(v, "name"))
			} else if r.get("PersistentVolumeClaim", claim) == nil {
				r.fail("%s: authserver.data %s: PersistentVolumeClaim %s is not in the manifests", at, data, claim)
			}
			return
		}
		r.fail("%s: authserver.data %s: volume %s is not declared", at, data, str(vm, "name"))
		return
	}
	r.fail("%s: authserver.data %s is no volume mount: the root file system is read-only and the store must persist", at, data)
}

// checkURL: u reaches a listener. A loopback host is this pod: the port
// is one of its listeners (wantKey, when given). Another host is a
// Service of the manifests (NAME or NAME.NAMESPACE...) with that port,
// whose targetPort leads to a containerPort of a Deployment it selects;
// for a gatehouse pod, to its listener wantKey.
func (r *rendered) checkURL(at string, w *workload, key, raw, wantKey string) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		r.fail("%s: %s: %q is not a URL with a host", at, key, raw)
		return
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	pn, _ := strconv.Atoi(port)
	host := u.Hostname()
	if host == "127.0.0.1" || host == "localhost" || host == "::1" {
		l := w.listenerOn(pn)
		if l == nil || (wantKey != "" && l.key != wantKey) {
			r.fail("%s: %s: %s is this pod, but port %d is not its %s", at, key, raw, pn, orAny(wantKey))
		}
		return
	}
	svcName := strings.Split(host, ".")[0]
	svc := r.get("Service", svcName)
	if svc == nil {
		r.fail("%s: %s: %s names Service %s, which is not in the manifests", at, key, raw, svcName)
		return
	}
	var target any
	for _, sp := range list(svc, "spec", "ports") {
		if n, _ := m(sp)["port"].(int); n == pn {
			target = m(sp)["targetPort"]
			if target == nil {
				target = n
			}
		}
	}
	if target == nil {
		r.fail("%s: %s: %s: Service %s has no port %d", at, key, raw, svcName, pn)
		return
	}
	reached := false
	for _, d := range r.all("Deployment") {
		if !selects(m(svc, "spec", "selector"), m(d, "spec", "template", "metadata", "labels")) {
			continue
		}
		for _, c := range list(d, "spec", "template", "spec", "containers") {
			cp := containerPort(m(c), target)
			if cp == 0 {
				continue
			}
			if wantKey != "" && str(c, "name") == "gatehouse" {
				tw := r.workloadOf(name(d))
				if tw == nil || tw.listenerKey(wantKey) == nil || tw.listenerKey(wantKey).port != cp {
					r.fail("%s: %s: %s leads to port %d of Deployment %s, which is not its %s", at, key, raw, cp, name(d), wantKey)
				}
			}
			reached = true
		}
	}
	if !reached {
		r.fail("%s: %s: %s: Service %s port %d (targetPort %v) leads to no containerPort of a Deployment", at, key, raw, svcName, pn, target)
	}
}

func orAny(key string) string {
	if key == "" {
		return "listener"
	}
	return key
}

func (r *rendered) workloadOf(deploy string) *workload {
	for _, w := range r.ws {
		if w.name == deploy {
			return w
		}
	}
	return nil
}

// checkIssuers: the gateways trust the issuer the auth servers sign as.
func (r *rendered) checkIssuers(ws []*workload) {
	var issuers []string
	for _, w := range ws {
		if a := w.cfg.AuthServer; a != nil && !slices.Contains(issuers, a.Issuer) {
			issuers = append(issuers, a.Issuer)
		}
	}
	if len(issuers) != 1 {
		r.fail("%s: the auth servers have issuers %q, want one", r.dir, issuers)
		return
	}
	for _, w := range ws {
		if g := w.cfg.Gateway; g != nil {
			for _, is := range g.Issuers {
				if is.Issuer != issuers[0] {
					r.fail("%s: Deployment %s: gateway.issuers[%s].issuer %q, but the auth server signs as %q", r.dir, w.name, is.Name, is.Issuer, issuers[0])
				}
			}
		}
	}
}

// checkServiceEnv: the guarded services are told the auth server's issuer,
// and a JWKS URL that leads to its listener.
func (r *rendered) checkServiceEnv(ws []*workload) {
	var auth *workload
	for _, w := range ws {
		if w.cfg.AuthServer != nil {
			auth = w
		}
	}
	if auth == nil {
		r.fail("%s: no Deployment runs the auth server", r.dir)
		return
	}
	n := 0
	for _, d := range r.all("Deployment") {
		for _, c := range list(d, "spec", "template", "spec", "containers") {
			if str(c, "name") == "gatehouse" {
				continue
			}
			at := fmt.Sprintf("%s: Deployment %s, container %s", r.dir, name(d), str(c, "name"))
			for _, e := range list(c, "env") {
				switch str(e, "name") {
				case "GATEHOUSE_ISSUER":
					n++
					if v := str(e, "value"); v != auth.cfg.AuthServer.Issuer {
						r.fail("%s: GATEHOUSE_ISSUER %q, but the auth server signs as %q", at, v, auth.cfg.AuthServer.Issuer)
					}
				case "GATEHOUSE_JWKS_URL":
					n++
					r.checkURL(at, auth, "env GATEHOUSE_JWKS_URL", str(e, "value"), "authserver.listen")
				}
			}
		}
	}
	if n == 0 {
		r.fail("%s: no guarded service is given GATEHOUSE_ISSUER and GATEHOUSE_JWKS_URL", r.dir)
	}
}

// envSet: variable v of container c is set, to a value or from a key of a
// Secret or ConfigMap of the manifests.
func (r *rendered) envSet(c map[string]any, v string) error {
	for _, e := range list(c, "env") {
		if str(e, "name") != v {
			continue
		}
		if str(e, "value") != "" {
			return nil
		}
		for kind, ref := range map[string]string{"Secret": "secretKeyRef", "ConfigMap": "configMapKeyRef"} {
			kr := m(e, "valueFrom", ref)
			if kr == nil {
				continue
			}
			src := r.get(kind, str(kr, "name"))
			if src == nil {
				return fmt.Errorf("%s %s is not in the manifests", kind, str(kr, "name"))
			}
			if _, ok := m(src, "data")[str(kr, "key")]; !ok {
				return fmt.Errorf("%s %s has no key %s", kind, name(src), str(kr, "key"))
			}
			return nil
		}
		return errors.New("it has neither a value nor a secretKeyRef or configMapKeyRef")
	}
	return errors.New("the container does not set it")
}

type ref struct{ key, path string }

// fileRefs are the files a configuration names (joined to its folder by
// the loader already).
func fileRefs(f *config.File) []ref {
	var out []ref
	add := func(key, p string) {
		if p != "" {
			out = append(out, ref{key, p})
		}
	}
	if a := f.AuthServer; a != nil {
		if a.Legacy != nil {
			add("authserver.legacy.secret_file", a.Legacy.Secret.File)
		}
		for _, c := range a.Clients {
			add("authserver.clients["+c.ID+"].secret_file", c.Secret.File)
			add("authserver.clients["+c.ID+"].jwks_file", c.JWKSFile)
		}
		for _, u := range a.Users {
			add("authserver.users["+u.Username+"].password_file", u.PasswordFile)
		}
	}
	if g := f.Gateway; g != nil {
		if g.TLS != nil {
			add("gateway.tls.cert_file", g.TLS.CertFile)
			add("gateway.tls.key_file", g.TLS.KeyFile)
		}
		for _, is := range g.Issuers {
			add("gateway.issuers["+is.Name+"].jwks_file", is.JWKSFile)
		}
	}
	return out
}

// envRefs are the environment variables a configuration names.
func envRefs(f *config.File) []ref {
	var out []ref
	add := func(key, v string) {
		if v != "" {
			out = append(out, ref{key, v})
		}
	}
	if a := f.AuthServer; a != nil {
		add("authserver.redis_env", a.RedisEnv)
		if a.Legacy != nil {
			add("authserver.legacy.secret_env", a.Legacy.Secret.Env)
		}
		for _, c := range a.Clients {
			add("authserver.clients["+c.ID+"].secret_env", c.Secret.Env)
		}
		for _, u := range a.Users {
			add("authserver.users["+u.Username+"].password_env", u.PasswordEnv)
		}
	}
	if g := f.Gateway; g != nil {
		add("gateway.ratelimit.redis_url_env", g.RateLimit.RedisURLEnv)
		for _, rt := range g.Routes {
			if rt.Exchange != nil {
				add("gateway.routes["+rt.Name+"].exchange.secret_env", rt.Exchange.SecretEnv)
			}
		}
	}
	return out
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

// TestChecksCatchMistakes: each check above refuses the mistake it is
// there for, made in a copy of a rendered overlay.
func TestChecksCatchMistakes(t *testing.T) {
	kc := kubectl(t)
	uid := imageUID(t)
	base := map[string]*rendered{}
	for _, o := range []string{"scale-out", "embedded"} {
		base[o] = render(t, kc, filepath.Join(kubeDir, "overlays", o))
		base[o].uid = uid
		if p := base[o].check(); len(p) > 0 {
			t.Fatalf("overlay %s is not clean: %q", o, p)
		}
	}
	cases := []struct {
		name, overlay string
		mutate        func(t *testing.T, r *rendered)
		want          string
	}{
		{"readiness on the proxy port", "scale-out", func(t *testing.T, r *rendered) {
			m(container(t, r, "gatehouse-auth"), "readinessProbe", "httpGet")["port"] = "auth"
		}, "readinessProbe on port 9000, which is not an admin_listen"},
		{"liveness on /readyz", "scale-out", func(t *testing.T, r *rendered) {
			m(container(t, r, "gatehouse-gateway"), "livenessProbe", "httpGet")["path"] = "/readyz"
		}, `livenessProbe path "/readyz", want /healthz`},
		{"listen on loopback", "scale-out", func(t *testing.T, r *rendered) {
			editConfig(t, r, "gatehouse-auth", `listen: ":9000"`, `listen: "127.0.0.1:9000"`)
		}, `authserver.listen: "127.0.0.1:9000" listens on 127.0.0.1 only`},
		{"admin listener left to its default", "scale-out", func(t *testing.T, r *rendered) {
			editConfig(t, r, "gatehouse-gateway", `admin_listen: ":8079"`, ``)
		}, "gateway.admin_listen is not set"},
		{"unknown key", "scale-out", func(t *testing.T, r *rendered) {
			editConfig(t, r, "gatehouse-gateway", `listen: ":8080"`, `listne: ":8080"`)
		}, "the loader refuses its file"},
		{"client secret not in the Secret", "scale-out", func(t *testing.T, r *rendered) {
			delete(m(byPrefix(t, r, "Secret", "gatehouse-clients"), "data"), "reports")
		}, "authserver.clients[reports].secret_file: /var/run/secrets/gatehouse/clients/reports: Secret"},
		{"secret file not mounted", "scale-out", func(t *testing.T, r *rendered) {
			editConfig(t, r, "gatehouse-auth", `/var/run/secrets/gatehouse/clients/reports`, `/etc/secrets/reports`)
		}, "/etc/secrets/reports: no volume is mounted on its folder"},
		{"variable not set", "scale-out", func(t *testing.T, r *rendered) {
			c := container(t, r, "gatehouse-gateway")
			c["env"] = []any{}
		}, "gateway.ratelimit.redis_url_env names the variable GATEHOUSE_REDIS_URL: the container does not set it"},
		{"containerPort without a listener", "scale-out", func(t *testing.T, r *rendered) {
			c := container(t, r, "gatehouse-auth")
			c["ports"] = append(list(c, "ports"), map[string]any{"name": "extra", "containerPort": 9999})
		}, "containerPort extra (9999) is no listener"},
		{"Service to a port the pod lacks", "scale-out", func(t *testing.T, r *rendered) {
			m(list(r.get("Service", "gatehouse-gateway"), "spec", "ports")[0])["targetPort"] = "http"
		}, "Service gatehouse-gateway port http: targetPort http names no containerPort"},
		{"JWKS on a port the Service lacks", "scale-out", func(t *testing.T, r *rendered) {
			editConfig(t, r, "gatehouse-gateway", `gatehouse-auth:9000`, `gatehouse-auth:9001`)
		}, "Service gatehouse-auth has no port 9001"},
		{"JWKS from the gateways", "scale-out", func(t *testing.T, r *rendered) {
			editConfig(t, r, "gatehouse-gateway", `http://gatehouse-auth:9000/`, `http://gatehouse-gateway/`)
		}, "leads to port 8080 of Deployment gatehouse-gateway, which is not its authserver.listen"},
		{"upstream without a Service", "scale-out", func(t *testing.T, r *rendered) {
			editConfig(t, r, "gatehouse-gateway", `http://orders:8080`, `http://payments:8080`)
		}, "names Service payments, which is not in the manifests"},
		{"gateway trusts another issuer", "scale-out", func(t *testing.T, r *rendered) {
			editConfig(t, r, "gatehouse-gateway", `issuer: https://auth.example.com`, `issuer: https://login.example.com`)
		}, `gateway.issuers[main].issuer "https://login.example.com", but the auth server signs as "https://auth.example.com"`},
		{"service told another issuer", "scale-out", func(t *testing.T, r *rendered) {
			for _, e := range list(container(t, r, "orders"), "env") {
				if str(e, "name") == "GATEHOUSE_ISSUER" {
					m(e)["value"] = "https://login.example.com"
				}
			}
		}, `GATEHOUSE_ISSUER "https://login.example.com"`},
		{"root user", "scale-out", func(t *testing.T, r *rendered) {
			m(r.get("Deployment", "gatehouse-auth"), "spec", "template", "spec", "securityContext")["runAsUser"] = 0
		}, "runAsUser 0, want the image's USER"},
		{"memory state on two replicas", "embedded", func(t *testing.T, r *rendered) {
			m(r.get("Deployment", "gatehouse"), "spec")["replicas"] = 2
		}, "2 replicas, but the SQLite store (authserver.data), the auth server's deny list in memory"},
		{"rolling update of the one process", "embedded", func(t *testing.T, r *rendered) {
			m(r.get("Deployment", "gatehouse"), "spec", "strategy")["type"] = "RollingUpdate"
		}, `strategy "RollingUpdate"`},
		{"store on an emptyDir", "embedded", func(t *testing.T, r *rendered) {
			for _, v := range list(r.get("Deployment", "gatehouse"), "spec", "template", "spec", "volumes") {
				if str(v, "name") == "data" {
					delete(m(v), "persistentVolumeClaim")
					m(v)["emptyDir"] = map[string]any{}
				}
			}
		}, "is volume data, not a PersistentVolumeClaim"},
		{"store not mounted", "embedded", func(t *testing.T, r *rendered) {
			editConfig(t, r, "gatehouse", `data: /var/lib/gatehouse`, `data: /data`)
		}, "authserver.data /data is no volume mount"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := parseRendered(t, base[tc.overlay].dir, base[tc.overlay].raw)
			r.uid = uid
			tc.mutate(t, r)
			problems := r.check()
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					return
				}
			}
			t.Errorf("no problem says %q; got %q", tc.want, problems)
		})
	}
}

// container returns the first container of Deployment d.
func container(t *testing.T, r *rendered, d string) map[string]any {
	t.Helper()
	cs := list(r.get("Deployment", d), "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		t.Fatalf("Deployment %s has no container", d)
	}
	return m(cs[0])
}

// byPrefix returns the generated object (NAME-HASH) of kind and NAME.
func byPrefix(t *testing.T, r *rendered, kind, n string) obj {
	t.Helper()
	for _, o := range r.all(kind) {
		if rest, ok := strings.CutPrefix(name(o), n+"-"); ok && !strings.Contains(rest, "-") {
			return o
		}
	}
	t.Fatalf("no %s %s-HASH", kind, n)
	return nil
}

// editConfig replaces old by new in the gatehouse.yaml of ConfigMap n.
func editConfig(t *testing.T, r *rendered, n, old, new string) {
	t.Helper()
	data := m(byPrefix(t, r, "ConfigMap", n), "data")
	s := str(data["gatehouse.yaml"])
	if !strings.Contains(s, old) {
		t.Fatalf("ConfigMap %s: gatehouse.yaml has no %q", n, old)
	}
	data["gatehouse.yaml"] = strings.Replace(s, old, new, 1)
}
