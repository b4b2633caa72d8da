package deploy_test

// The checks of what one pod names of another: a URL (an upstream, a JWKS
// URL) reaches a listener through a Service of the manifests, the gateways
// trust the issuer the auth servers sign as, and the guarded services are
// told that issuer and a JWKS URL of the auth server.

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

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
