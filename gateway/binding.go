package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehousehq/gatehouse/dpop"
	"github.com/gatehousehq/gatehouse/dpop/redisreplay"
	"github.com/gatehousehq/gatehouse/guard"
)

// Sender-constrained tokens at the gateway: every route's guard checks
// the binding of bound tokens (package guard, binding.go there) with the
// options built here once per configuration: the client-certificate
// header of trusted proxies, and one DPoP verifier with one replay cache
// for all routes, so that a proof accepted on one route is refused on
// every other.
//
// What goes upstream: with downstream: relay the request passes as the
// client sent it, Authorization: DPoP and the DPoP proof included. The
// proof names the gateway's URL and its jti is spent in the gateway's
// replay cache, so an upstream that checks proofs itself must take the
// gateway's URL as its external URL and keep a replay cache of its own; a
// DPoP-bound token stolen from the upstream is useless without the
// client's key. With downstream: exchange or strip the proof goes with the
// client's token: the upstream gets no DPoP header. The client-certificate
// header passes only as a trusted proxy wrote it: from any other peer it
// is removed before routing.

// defaultReplayMax bounds the memory replay cache: the proofs of a
// minute at about 1,600 requests per second.
const defaultReplayMax = 100_000

// dpopNonceStep is how often the gateway's DPoP nonce changes
// (dpop.nonce); the one before stays good for another step, and the next
// is good already (an instance whose clock runs ahead hands it out).
const dpopNonceStep = 5 * time.Minute

// binding is the state's part for bound tokens.
type binding struct {
	opts       []guard.Option
	replay     dpop.ReplayCache // memory: kept across reloads
	replayKind string
	certHeader string // canonical; "" without client_certificate
	trusted    []netip.Prefix
}

// buildBinding makes the guard options of cfg; old lends its memory replay
// cache, so that a reload does not forget the proofs seen.
func (g *Gateway) buildBinding(cfg *Config, old *state) (*binding, error) {
	b := &binding{}
	if cc := cfg.ClientCertificate; cc != nil {
		b.certHeader, b.trusted = http.CanonicalHeaderKey(cc.Header), cc.trusted
		b.opts = append(b.opts, guard.WithClientCertificateHeader(cc.Header, guard.CertificateFormat(cc.Format), cc.trusted))
	}
	d := cfg.DPoP
	if d == nil {
		return b, nil
	}
	b.replayKind = d.Replay
	if b.replayKind == "" {
		b.replayKind = "memory"
	}
	switch {
	case b.replayKind == "redis":
		if g.redis == nil {
			return nil, cfg.errAt(cfg.Line("dpop"), "dpop.replay", "redis needs the gateway's Redis client (ratelimit.backend redis)")
		}
		c, err := redisreplay.New(g.redis)
		if err != nil {
			return nil, cfg.errAt(cfg.Line("dpop"), "dpop.replay", "%v", err)
		}
		b.replay = c
	case old != nil && old.binding != nil && old.binding.replayKind == "memory":
		b.replay = old.binding.replay
	default:
		b.replay = dpop.NewMemoryReplay(defaultReplayMax)
	}
	vopts := []dpop.Option{dpop.WithReplay(b.replay)}
	if d.Window > 0 {
		vopts = append(vopts, dpop.WithWindow(d.Window, 5*time.Second))
	}
	if len(d.Algorithms) > 0 {
		vopts = append(vopts, dpop.WithAlgorithms(d.Algorithms...))
	}
	var dopts []guard.DPoPOption
	if d.ExternalURL != "" {
		dopts = append(dopts, guard.ExternalURL(d.ExternalURL))
	}
	if d.Forwarded { // forwardedurl.go
		f := &forwardedOrigin{trusted: cfg.trusted, rfc7239: strings.EqualFold(cfg.ClientIPHeader, "forwarded")}
		if len(d.ForwardedHosts) > 0 {
			f.hosts = map[string]bool{}
			for _, h := range d.ForwardedHosts {
				f.hosts[strings.ToLower(h)] = true
			}
		}
		dopts = append(dopts, guard.RequestOrigin(f.origin))
	}
	if d.Nonce {
		nonces, err := g.nonces(d)
		if err != nil {
			return nil, cfg.errAt(cfg.Line("dpop.nonce_secret_env"), "dpop.nonce_secret_env", "%v", err)
		}
		vopts = append(vopts, dpop.WithNonces(nonces))
		dopts = append(dopts, guard.RequireNonce())
	}
	v, err := dpop.NewVerifier(vopts...)
	if err != nil {
		return nil, cfg.errAt(cfg.Line("dpop"), "dpop", "%v", err)
	}
	b.opts = append(b.opts, guard.WithDPoP(v, dopts...))
	return b, nil
}

// nonces are the DPoP nonces of dpop.nonce: from nonce_secret_env's secret,
// shared by the gateway's instances, or from the gateway's own, made once
// and kept for its lifetime (across reloads, nonce turned off and on).
// Called under g.mu (New, Reload).
func (g *Gateway) nonces(d *DPoP) (*dpop.Nonces, error) {
	secret := d.nonceSecret
	switch {
	case secret != nil:
	case d.NonceSecretEnv != "":
		return nil, fmt.Errorf("%s was not resolved: call Config.ResolveEnv before gateway.New", d.NonceSecretEnv)
	default:
		if g.ownNonceSecret == nil {
			g.ownNonceSecret = make([]byte, dpop.MinNonceSecretBytes)
			rand.Read(g.ownNonceSecret)
		}
		secret = g.ownNonceSecret
	}
	return dpop.NewNonces(secret, dpopNonceStep)
}

// options returns the guard options; b may be nil.
func (b *binding) options() []guard.Option {
	if b == nil {
		return nil
	}
	return b.opts
}

// certHeaders are the header fields that TLS-terminating proxies write
// the client certificate to (Envoy, RFC 9440, nginx and Apache habits),
// by canonical name. No client may send them upstream itself.
var certHeaders = []string{
	"X-Forwarded-Client-Cert", "Client-Cert", "Client-Cert-Chain",
	"X-Client-Cert", "X-Ssl-Client-Cert", "Ssl-Client-Cert",
}

// stripCertHeaders removes the client-certificate headers that r's peer
// may not set, so that neither the token check nor an upstream takes a
// client's word for its certificate: client_certificate.header unless the
// peer is one of its trusted proxies, and the common names of such headers
// (certHeaders) unless the peer is a trusted proxy of either list
// (proxy: the peer is in gateway.trusted_proxies). Their "_" spellings
// (X_Client_Cert), which no proxy writes and CGI, PHP, WSGI and Rack
// upstreams read as the same header, go with the other spoofable fields
// on the way upstream (dropClientHeaders). b may be nil.
func (b *binding) stripCertHeaders(r *http.Request, proxy bool) {
	h := r.Header
	present := false
	for _, name := range certHeaders {
		if _, ok := h[name]; ok {
			present = true
			break
		}
	}
	var own string
	if b != nil {
		own = b.certHeader
	}
	if _, ok := h[own]; own != "" && ok {
		present = true
	}
	if !present {
		return
	}
	certProxy := b != nil && len(b.trusted) > 0 && inPrefixes(b.trusted, peerAddr(r.RemoteAddr))
	if own != "" && !certProxy {
		delete(h, own)
	}
	if !proxy && !certProxy {
		for _, name := range certHeaders {
			delete(h, name)
		}
	}
}

// dropProof removes the client's DPoP proof from an outbound request
// whose Authorization is not the client's (downstream exchange or strip).
func dropProof(h http.Header) { delete(h, "Dpop") }

// noReplay is a replay cache for validation only, where no proof is
// checked.
type noReplay struct{}

func (noReplay) First(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("gateway: no replay cache")
}
