package sqlite

import "github.com/gatehousehq/gatehouse/keys/keyseal"

// Option configures [Open].
type Option interface{ apply(*options) }

type options struct {
	sealer *keyseal.Sealer
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

// WithKeySealer seals the private JWKs of the signing keys at rest with s
// (package keys/keyseal): RotateSigningKey stores them sealed under its
// current secret, ListSigningKeys opens them, and Open seals, in one
// transaction, every key it finds stored in clear (a store written
// before, or without a secret; see [Store.SealedAtOpen]). Without it
// keys are stored in clear, and a store whose keys are sealed refuses to
// list them or to add a key in clear.
func WithKeySealer(s *keyseal.Sealer) Option {
	return optionFunc(func(o *options) { o.sealer = s })
}
