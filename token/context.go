package token

import "context"

type contextKey struct{}

type inContext struct {
	raw    string
	claims *Claims
}

// NewContext returns a context that carries a verified token and its
// claims: the inbound middleware (package guard) puts the caller's token
// there, and the outbound client (package relay) takes it from there, also
// in goroutines started from the request context.
func NewContext(ctx context.Context, raw string, c *Claims) context.Context {
	return context.WithValue(ctx, contextKey{}, inContext{raw: raw, claims: c})
}

// FromContext returns the token and claims that NewContext stored, and
// whether there were any.
func FromContext(ctx context.Context) (raw string, c *Claims, ok bool) {
	v, ok := ctx.Value(contextKey{}).(inContext)
	return v.raw, v.claims, ok
}
