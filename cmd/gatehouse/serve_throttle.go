package main

import (
	"github.com/gatehousehq/gatehouse/authserver"
	"github.com/gatehousehq/gatehouse/internal/config"
)

// throttleOf is the authserver.ThrottleConfig of a throttle section
// (authserver.login_throttle, authserver.client_auth_throttle); nil: the
// defaults.
func throttleOf(t *config.Throttle) authserver.ThrottleConfig {
	if t == nil {
		return authserver.ThrottleConfig{}
	}
	return authserver.ThrottleConfig{Free: t.Free, Base: t.Base, Max: t.Max}
}

// argon2Of is authserver.Config's Argon2Concurrency and Argon2Queue of
// the authserver.argon2 section; nil: the defaults.
func argon2Of(g *config.Argon2) (concurrency, queue int) {
	if g == nil {
		return 0, 0
	}
	return g.Concurrency, g.Queue
}
