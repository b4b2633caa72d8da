package deploy_test

// TestChecksCatchMistakes, and the helpers that make its mistakes in a
// copy of a rendered overlay.

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestChecksCatchMistakes: each check of (*rendered).check refuses the
// mistake it is there for, made in a copy of a rendered overlay.
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
