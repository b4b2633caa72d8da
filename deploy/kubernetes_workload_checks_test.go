package deploy_test

// The checks of each pod of gatehouse serve against its gatehouse.yaml:
// its user, containerPorts and probes, the Services that select it, the
// files it names mounted and the variables set (fileRefs, envRefs,
// envSet), one replica for state in one process, and the data volume.

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/gatehousehq/gatehouse/internal/config"
)

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
