package gateway

// Start-up and readiness of the issuers' keys. An issuer whose JWKS URL or
// discovery document does not answer at start does not stop the gateway:
// the gateway logs it with the URL, keeps fetching in the background (with
// backoff, see keys.Remote.Prefetch), answers 503 on the routes that trust
// it, and /readyz says it is not ready, until the keys arrive. JWKS URLs
// and discovery behave the same.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehousehq/gatehouse/internal/problem"
	"github.com/gatehousehq/gatehouse/keys"
)

// startupKeyFetch bounds the discovery and the fetch of an issuer's keys
// when a configuration is built; slower issuers are fetched in the
// background.
var startupKeyFetch = 5 * time.Second // a variable for tests

// reasonKeysUnavailable: the route's issuer has not delivered keys yet.
const reasonKeysUnavailable = "keys_unavailable"

// issuerKeys is the remote key source of one issuer of a state.
type issuerKeys struct {
	name    string // issuers[].name
	issuer  string // issuers[].issuer
	jwksURL string // issuers[].jwks_url; empty: discovery
	remote  *keys.Remote
}

// where is the URL that has to answer: the JWKS URL, or the discovery
// document while the JWKS URL is not known.
func (k issuerKeys) where() string {
	if u := k.remote.URL(); u != "" {
		return u
	}
	return strings.TrimSuffix(k.issuer, "/") + "/.well-known/openid-configuration"
}

// remote returns the key source of an issuer with a jwks_url or found by
// discovery. The running configuration's source is reused when the
// issuer's key settings did not change, so that a reload keeps the keys
// fetched already and needs no issuer to answer. A discovery that cannot
// reach the issuer is no error: the source discovers later. One that shows
// the issuer to be wrong is.
func (g *Gateway) remote(ctx context.Context, is Issuer, opts []keys.RemoteOption) (*keys.Remote, error) {
	if old := g.state.Load(); old != nil {
		for _, k := range old.issuerKeys {
			if k.jwksURL == is.JWKSURL && (is.JWKSURL != "" || k.issuer == is.Issuer) {
				return k.remote, nil
			}
		}
	}
	if is.JWKSURL != "" {
		return keys.NewRemote(is.JWKSURL, opts...)
	}
	// An issuer that does not answer within startupKeyFetch is down for
	// now, not wrong: it is discovered in the background.
	ctx, cancel := context.WithTimeout(ctx, startupKeyFetch)
	defer cancel()
	r, err := keys.NewRemoteFromIssuer(ctx, is.Issuer, opts...)
	if err != nil && (r == nil || !errors.Is(err, keys.ErrUnavailable)) {
		return nil, err
	}
	return r, nil
}

// fetchKeys fetches, in parallel and within startupKeyFetch, the keys of
// the issuers whose source never tried yet; logs every issuer still
// without keys, with its URL; and has those retried in the background
// until life (the state's) ends. It returns the remote issuers, which
// /readyz checks.
func (g *Gateway) fetchKeys(ctx, life context.Context, cfg *Config, verifiers map[string]*issuerVerifier) []issuerKeys {
	var out []issuerKeys
	for _, is := range cfg.Issuers {
		if iv := verifiers[is.Name]; iv != nil && iv.remote != nil {
			out = append(out, issuerKeys{name: is.Name, issuer: is.Issuer, jwksURL: is.JWKSURL, remote: iv.remote})
		}
	}
	fctx, cancel := context.WithTimeout(ctx, startupKeyFetch)
	defer cancel()
	var wg sync.WaitGroup
	for _, k := range out {
		if !k.remote.Ready() && k.remote.Fetches() == 0 {
			wg.Go(func() { k.remote.Refresh(fctx) }) // a failure is logged by the source
		}
	}
	wg.Wait()
	for _, k := range out {
		if k.remote.Ready() {
			continue
		}
		g.log.Warn("no signing keys yet for this issuer: its routes answer 503 and /readyz is not ready until they arrive; retrying in the background",
			"issuer", k.name, "iss", k.issuer, "url", k.where())
		k.remote.Prefetch(life)
	}
	return out
}

// notReady says why the gateway is not ready, or "" when it is.
func (g *Gateway) notReady() string {
	if g.closed.Load() {
		return "the gateway is closed"
	}
	st := g.state.Load()
	if st == nil {
		return "no configuration is loaded"
	}
	var waiting []string
	for _, k := range st.issuerKeys {
		if !k.remote.Ready() {
			waiting = append(waiting, fmt.Sprintf("issuer %s has no signing keys yet (%s has not answered)", k.name, k.where()))
		}
	}
	return strings.Join(waiting, "; ")
}

// requireKeys answers 503 on a route of an issuer whose keys never
// arrived, with a problem that names the issuer, instead of letting every
// token fail the check.
func (iv *issuerVerifier) requireKeys(next http.Handler) http.Handler {
	if iv.remote == nil {
		return next
	}
	detail := fmt.Sprintf("the signing keys of issuer %s have not been fetched yet; retry shortly", iv.issuer)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !iv.remote.Ready() {
			w.Header().Set("Retry-After", "5")
			refuse(w, http.StatusServiceUnavailable, problem.TypeUnavailable, reasonKeysUnavailable, detail)
			return
		}
		next.ServeHTTP(w, r)
	})
}
