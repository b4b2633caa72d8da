package main

import (
	"fmt"
	"log/slog"

	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/dpop/redisreplay"
	"github.com/gatehousehq/gatehouse/internal/config"
)

// dpopOf is authserver.Config.DPoP for the section (authserver.dpop, RFC
// 9449): the window, the nonce secret from its variable or file, and the
// jti replay cache on the shared Redis when authserver.redis is set (else
// this process's memory). Errors name FILE:LINE and the key; it says at
// start which replay cache and which nonce secret it uses.
func dpopOf(file string, a *config.AuthServer, shared *sharedState, loc storeLocation, log *slog.Logger) (authserver.DPoPConfig, error) {
	var out authserver.DPoPConfig
	if d := a.DPoP; d != nil {
		secret, err := d.ResolveNonceSecret()
		if err != nil {
			key := "authserver.dpop.nonce_secret_file"
			if d.NonceSecretEnv != "" {
				key = "authserver.dpop.nonce_secret_env"
			}
			return out, usagef("%s", (&config.Error{Path: file, Line: d.Line, Key: key, Reason: err.Error()}).Error())
		}
		out = authserver.DPoPConfig{Window: d.Window, Nonce: d.Nonce, NonceSecret: secret}
		if d.Nonce && secret == nil && loc.url != "" {
			log.Warn("dpop: nonces come from a random secret of this process, so a nonce one auth server instance issued is refused by the others (clients retry once more); set authserver.dpop.nonce_secret_env or nonce_secret_file to the same secret on every instance")
		}
	}
	if shared == nil || shared.client == nil {
		log.Info("dpop: proof jtis are remembered by this process only, which refuses a proof replayed to the same instance; set authserver.redis to refuse it at every instance")
		return out, nil
	}
	rc, err := redisreplay.New(shared.client)
	if err != nil {
		return out, fmt.Errorf("authserver.redis: %w", err)
	}
	out.Replay = rc
	log.Info("dpop: proof jtis are recorded in redis, so a proof is accepted once across instances; while redis is down, requests with a proof answer 503")
	return out, nil
}
